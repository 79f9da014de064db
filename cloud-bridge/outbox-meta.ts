/**
 * The outbox's meta record and how start-up rebuilds its usage per level from it — or, as recovery, from a
 * full scan of the queue.
 */
import type { Namespace } from '../core/store/index.ts'
import type { LedgerCounters } from './ledger.ts'
import { keyPriority, levelPrefix, QUEUE_PREFIX } from './outbox-entry.ts'
import { OutboxUsage } from './outbox-usage.ts'

/**
 * The meta record, rewritten in the same atomic batch as every change to the queue. `levels` ([count, bytes]
 * per priority) is what is on disk after that batch, so start-up can trust it instead of scanning the backlog;
 * records written before it existed lack it, and `dirty` asks the next start to recount.
 */
export interface Meta extends LedgerCounters { v: 1; epoch: string; seq: number; levels?: Array<[number, number]>; dirty?: true }

/**
 * The usage recorded in the meta record, if it can be trusted: present, not marked dirty, well-formed, and
 * agreeing with the disk on which levels hold anything (one short seek per level, whatever the backlog).
 */
export async function trustedUsage (ns: Namespace<any>, meta: Meta | undefined): Promise<OutboxUsage | undefined> {
  const levels = meta?.levels
  if (meta === undefined || meta.dirty === true || !Array.isArray(levels) || levels.length !== 10) return undefined
  const usage = new OutboxUsage()
  for (let p = 0; p < 10; p++) {
    const [count, bytes] = levels[p] ?? []
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(bytes) || count < 0 || bytes < 0) return undefined
    let any = false
    for await (const _ of ns.keys({ prefix: levelPrefix(p), limit: 1 })) any = true
    if (any !== count > 0) return undefined
    usage.add(p, count, bytes)
  }
  return usage
}

/** Recovery: counts every queued entry (values too, for their sizes) and finds the highest sequence number. */
export async function scanQueue (ns: Namespace<any>): Promise<{ usage: OutboxUsage; maxSeq: number }> {
  const usage = new OutboxUsage()
  let maxSeq = 0
  for await (const [key, raw] of ns.entries({ prefix: QUEUE_PREFIX })) {
    const p = keyPriority(key)
    if (p < 0) continue
    usage.add(p, 1, sizeOf(key, raw))
    const seq = Number(key.slice(key.lastIndexOf('/') + 1))
    if (seq > maxSeq) maxSeq = seq
  }
  return { usage, maxSeq }
}

/** Bytes an entry takes: key plus stored value, the unit of `maxBytes`. */
export function sizeOf (key: string, raw: unknown): number {
  const len = raw instanceof Uint8Array ? raw.length : typeof raw === 'string' ? Buffer.byteLength(raw) : 16
  return key.length + len
}
