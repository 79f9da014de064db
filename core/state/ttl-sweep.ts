/**
 * The TTL sweeper. Expired values already read as absent (every read checks the expiry), so sweeping only
 * reclaims space: it reads the expiry index from its start up to "now" — exactly the entries that are due, in
 * bounded batches, never the data — and deletes each due value (re-checked under its key's lock, since a
 * writer may have given it a new life) together with its index entry, one atomic batch per batch.
 * The timer runs through the injected Clock (CONVENTIONS 8), so tests drive it without sleeping.
 */
import type { BatchOp } from '../store/index.ts'
import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import { expiryBound, expiryKey, isLive, parseExpiryKey } from './records.ts'
import { lockLockKey, stateLockKey, type StateSpaces } from './spaces.ts'

export interface SweepStats { batches: number; deleted: number }

/** One bounded pass: at most `maxBatches` batches of `batchSize` index entries. True when more are due. */
export async function sweepExpired (s: StateSpaces, batchSize: number, maxBatches: number, stats: SweepStats): Promise<boolean> {
  for (let b = 0; b < maxBatches; b++) {
    const now = s.clock.now()
    const due: string[] = []
    for await (const k of s.ttl.keys({ lt: expiryBound(now), limit: batchSize })) due.push(k)
    if (due.length === 0) return false
    const entries = due.map(parseExpiryKey)
    const stateKeys = [...new Set(entries.filter((e) => e.kind === 's').map((e) => e.key))]
    const lockKeys = [...new Set(entries.filter((e) => e.kind === 'l').map((e) => e.key))]
    const mutexKeys = [...stateKeys.map(stateLockKey), ...lockKeys.map(lockLockKey)]
    await s.mutex.run(mutexKeys, async () => {
      const [recs, locks] = await Promise.all([s.data.getMany(stateKeys), s.locks.getMany(lockKeys)])
      const ops: Array<BatchOp<any>> = due.map((k) => ({ type: 'del', key: k, ns: s.ttl }))
      stateKeys.forEach((key, i) => {
        const rec = recs[i]
        if (rec === undefined || isLive(rec, now)) return
        ops.push({ type: 'del', key, ns: s.data })
        if (rec.x !== undefined) ops.push({ type: 'del', key: expiryKey(rec.x, 's', key), ns: s.ttl })
        stats.deleted++
      })
      lockKeys.forEach((key, i) => {
        const rec = locks[i]
        if (rec === undefined || isLive(rec, now)) return
        ops.push({ type: 'del', key, ns: s.locks })
        ops.push({ type: 'del', key: expiryKey(rec.x, 'l', key), ns: s.ttl })
      })
      await s.data.batch(ops)
    })
    stats.batches++
    if (due.length < batchSize) return false
  }
  return true
}

export interface SweeperOptions {
  clock: Clock
  intervalMs: number
  sweep: () => Promise<boolean>
  logger?: Logger
}

/** Runs `sweep` every `intervalMs`, or again right away (next tick) while a pass reports more due entries. */
export class TtlSweeper {
  readonly #o: SweeperOptions
  #timer: unknown
  #running: Promise<void> | undefined
  #closed = false

  constructor (o: SweeperOptions) {
    this.#o = o
    this.#schedule(o.intervalMs)
  }

  /** The pass in flight, if any (tests await it after advancing a ManualClock). */
  get running (): Promise<void> { return this.#running ?? Promise.resolve() }

  #schedule (ms: number): void {
    if (this.#closed) return
    this.#timer = this.#o.clock.setTimeout(() => { this.#tick() }, ms)
  }

  #tick (): void {
    this.#timer = undefined
    this.#running = this.#o.sweep().then(
      (more) => { this.#schedule(more ? 0 : this.#o.intervalMs) },
      (err) => { this.#o.logger?.warn({ err }, 'state TTL sweep failed'); this.#schedule(this.#o.intervalMs) },
    ).finally(() => { this.#running = undefined })
  }

  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }
}
