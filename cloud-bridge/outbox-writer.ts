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

/** Per-level usage changes of one write: [priority, count delta, bytes delta]. */
export type LevelDeltas = Array<[number, number, number]>

interface WriteReq { ops: BatchOp[]; delta: LedgerDelta; levels: LevelDeltas; resolve: () => void; reject: (e: unknown) => void }

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

  constructor (o: WriterOptions) {
    this.#o = o
    this.#counters = o.counters
    this.committed.copyFrom(o.usage)
  }

  /** The counters as on disk. */
  get counters (): LedgerCounters { return this.#counters }

  /** Resolves when every queued write has landed. */
  idle (): Promise<void> { return this.#idle }

  write (ops: BatchOp[], delta: LedgerDelta, levels: LevelDeltas): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, delta, levels, resolve, reject })
      if (!this.#writing) void this.#drain()
    })
  }

  async #drain (): Promise<void> {
    this.#writing = true
    this.#idle = new Promise((resolve) => { this.#idleResolve = resolve })
    try {
      while (this.#queue.length > 0) {
        let n = 0; let ops = 0
        while (n < this.#queue.length && (n === 0 || ops + this.#queue[n].ops.length <= MAX_OPS_PER_WRITE)) ops += this.#queue[n++].ops.length
        const reqs = this.#queue.splice(0, n)
        const next = cloneCounters(this.#counters)
        for (const r of reqs) addCounters(next, r.delta)
        const levels = this.committed.toLevels()
        for (const r of reqs) for (const [p, c, b] of r.levels) { levels[p][0] += c; levels[p][1] += b }
        // A negative level means the bookkeeping went wrong somewhere: say so, and let the next start recount.
        const dirty = this.#dirty || levels.some(([c, b]) => c < 0 || b < 0)
        if (dirty && !this.#dirty) this.#o.log.error({ levels }, 'cloud outbox usage went negative; it is recounted at the next start')
        const meta: Meta = { v: 1, ...this.#o.position(), ...next, levels, ...(dirty ? { dirty: true as const } : {}) }
        try {
          await this.#o.ns.batch([...reqs.flatMap((r) => r.ops), { type: 'put', key: META_KEY, value: meta }])
        } catch (err) {
          for (const r of reqs) r.reject(err)
          continue
        }
        this.#counters = next
        this.#dirty = dirty
        this.#o.landed()
        for (const r of reqs) for (const [p, c, b] of r.levels) this.committed.add(p, c, b)
        for (const r of reqs) r.resolve()
      }
    } finally {
      this.#writing = false
      this.#idleResolve?.()
    }
  }
}
