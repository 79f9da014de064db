/**
 * The outbox's one serial writer: it packs whatever is waiting into one atomic batch together with the ledger
 * and the per-level usage (`meta`), so keys become visible in sequence order (the sender's cursor never skips
 * one) and the persisted ledger always describes exactly the entries on disk.
 */
import type { BatchOp, Namespace } from '../core/store/index.ts'
import type { Logger } from '../core/logger.ts'
import { addCounters, cloneCounters, type LedgerCounters, type LedgerDelta } from './ledger.ts'
import { OutboxUsage } from './outbox-usage.ts'
import type { Meta } from './outbox-meta.ts'

export const META_KEY = 'meta'
const MAX_OPS_PER_WRITE = 4096
/**
 * Deletes of acknowledged entries are not urgent (until they land, a crash means a resend, never a loss), so a
 * batch holding only those waits up to LAZY_MS, or LAZY_OPS of them, for company: a backlog draining at tens of
 * thousands a second then costs a few hundred batches a second instead of one per handful of PUBACKs.
 */
const LAZY_MS = 4
const LAZY_OPS = 1024

/** Per-level usage changes of one write: [priority, count delta, bytes delta]. */
export type LevelDeltas = Array<[number, number, number]>

/** Called once the request's batch landed (no argument) or failed. */
export type WriteDone = (err?: unknown) => void

interface WriteReq { ops: BatchOp[]; delta: LedgerDelta; levels: LevelDeltas; done: WriteDone; lazy: boolean }

export interface WriterOptions {
  ns: Namespace<any>
  log: Logger
  counters: LedgerCounters
  /** What is on disk at start. */
  usage: OutboxUsage
  /** Epoch and last sequence number, as they are when a batch is written. */
  position: () => { epoch: string; seq: number }
  /** A batch landed (before its requests resolve). */
  landed: () => void
}

export class OutboxWriter {
  readonly #o: WriterOptions
  /** What is on disk (updated when a write lands): the ledger reports these. */
  readonly committed = new OutboxUsage()
  #counters: LedgerCounters
  #queue: WriteReq[] = []
  #writing = false
  #idle: Promise<void> = Promise.resolve()
  #idleResolve: (() => void) | undefined
  /** Persisted usage is known to be wrong (sticky until a restart recounts). */
  #dirty = false
  /** Queued requests that must not wait (anything but lazy deletes), and the ops of the lazy ones. */
  #eager = 0
  #lazyOps = 0
  /** Ends a lazy wait early (an eager request arrived, or enough lazy ops did). */
  #wake: (() => void) | undefined

  constructor (o: WriterOptions) {
    this.#o = o
    this.#counters = o.counters
    this.committed.copyFrom(o.usage)
  }

  /** The counters as on disk. */
  get counters (): LedgerCounters { return this.#counters }

  /** Resolves when every queued write has landed. */
  idle (): Promise<void> { return this.#idle }

  /** `lazy`: only deletes of delivered entries, which may wait a little for a fuller batch (LAZY_MS). */
  write (ops: BatchOp[], delta: LedgerDelta, levels: LevelDeltas, lazy = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.submit(ops, delta, levels, (err) => { if (err === undefined) resolve(); else reject(err) }, lazy)
    })
  }

  /**
   * `write` without a promise per request (the outbox's hot paths). `done` runs when the batch holding the
   * request landed, before later batches are started, in submission order.
   */
  submit (ops: BatchOp[], delta: LedgerDelta, levels: LevelDeltas, done: WriteDone, lazy = false): void {
    this.#queue.push({ ops, delta, levels, done, lazy })
    if (lazy) this.#lazyOps += ops.length
    else this.#eager++
    if (!lazy || this.#lazyOps >= LAZY_OPS) this.#wake?.()
    if (this.#writing) return
    this.#writing = true
    this.#idle = new Promise((resolve) => { this.#idleResolve = resolve })
    void this.#drain()
  }

  /**
   * Group commit per event-loop turn: a batch starts after this turn's I/O callbacks (publishes read from the
   * broker's sockets, PUBACKs from the cloud) have added theirs, not with the first of them; one holding only
   * lazy deletes waits a little longer (LAZY_MS).
   */
  async #gather (): Promise<void> {
    const lazyOnly = this.#eager === 0 && this.#lazyOps < LAZY_OPS
    await new Promise<void>((resolve) => {
      let settled = false
      const go = (): void => { if (!settled) { settled = true; this.#wake = undefined; clearTimeout(timer); resolve() } }
      const timer = lazyOnly ? setTimeout(go, LAZY_MS) : undefined
      if (lazyOnly) this.#wake = () => { setImmediate(go) }
      else setImmediate(go)
    })
  }

  async #drain (): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        await this.#gather()
        let n = 0; let ops = 0
        while (n < this.#queue.length && (n === 0 || ops + this.#queue[n].ops.length <= MAX_OPS_PER_WRITE)) ops += this.#queue[n++].ops.length
        const reqs = this.#queue.splice(0, n)
        for (const r of reqs) { if (r.lazy) this.#lazyOps -= r.ops.length; else this.#eager-- }
        const next = cloneCounters(this.#counters)
        for (const r of reqs) addCounters(next, r.delta)
        const levels = this.committed.toLevels()
        for (const r of reqs) for (const [p, c, b] of r.levels) { levels[p][0] += c; levels[p][1] += b }
        // A negative level means the bookkeeping went wrong somewhere: say so, and let the next start recount.
        const dirty = this.#dirty || levels.some(([c, b]) => c < 0 || b < 0)
        if (dirty && !this.#dirty) this.#o.log.error({ levels }, 'cloud outbox usage went negative; it is recounted at the next start')
        const meta: Meta = { v: 1, ...this.#o.position(), ...next, levels, ...(dirty ? { dirty: true as const } : {}) }
        const batch: BatchOp[] = []
        for (const r of reqs) for (const op of r.ops) batch.push(op)
        batch.push({ type: 'put', key: META_KEY, value: meta })
        try {
          await this.#o.ns.batch(batch)
        } catch (err) {
          for (const r of reqs) r.done(err)
          continue
        }
        this.#counters = next
        this.#dirty = dirty
        this.#o.landed()
        for (const r of reqs) for (const [p, c, b] of r.levels) this.committed.add(p, c, b)
        for (const r of reqs) {
          try { r.done() } catch (err) { this.#o.log.error({ err: err as Error }, 'cloud outbox: a landed write\'s follow-up failed') }
        }
      }
    } finally {
      this.#writing = false
      this.#idleResolve?.()
    }
  }
}
