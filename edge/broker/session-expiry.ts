import { systemClock, type Clock } from '../../core/clock.ts'
import type { Logger } from '../../core/logger.ts'
import type { SessionExpiryStore } from './persistence/index.ts'

/** Sessions dropped per sweep; a fuller backlog continues in the next batch right after, not in one go. */
export const SWEEP_BATCH = 100
/** The longest pause between sweeps: an expired session outlives its expiry by at most this. */
const MAX_SWEEP_INTERVAL_MS = 60_000
const MIN_SWEEP_INTERVAL_MS = 1_000

export interface SessionExpiryOptions {
  store: SessionExpiryStore
  /** `mqtt.sessionExpirySeconds`; 0 records offline times but never expires. */
  expirySeconds: number
  log: Logger
  clock?: Clock
  /** True while a connection with this client id is connected or connecting. */
  isOnline: (clientId: string) => boolean
  /** Called for each session dropped (the broker counts it). */
  onExpired?: (clientId: string) => void
  /** Default: a quarter of the expiry, 1 s to 60 s. */
  sweepIntervalMs?: number
  /** Sessions that never expire (the runtime's own). */
  exempt?: (clientId: string) => boolean
}

/**
 * Persistent session expiry, as mosquitto's `persistent_client_expiration`: MQTT 3.1.1 keeps a CleanSession=0
 * session until the client returns [MQTT-3.1.2-4], so a client that never returns would have its queue grow
 * on disk forever. The broker tells this class when such a client goes offline and comes back; the times live
 * in the persistence (they survive restarts), and a timer drops sessions offline longer than the expiry, a
 * bounded batch per sweep, read from a time-ordered index.
 *
 * A sweep and a reconnect of the same client exclude each other: a connecting client is never dropped (the
 * sweep asks `isOnline`), and a client connecting while its session is being dropped waits for `settled()`
 * before aedes restores its session, so it sees all of it or none.
 */
export class SessionExpiry {
  readonly #store: SessionExpiryStore
  readonly #expiryMs: number
  readonly #log: Logger
  readonly #clock: Clock
  readonly #isOnline: (clientId: string) => boolean
  readonly #exempt: (clientId: string) => boolean
  readonly #onExpired: (clientId: string) => void
  readonly #intervalMs: number
  readonly #dropping = new Map<string, Promise<unknown>>()
  #timer: unknown
  #sweeping: Promise<number> | undefined
  #closed = false

  constructor (opts: SessionExpiryOptions) {
    this.#store = opts.store
    this.#expiryMs = opts.expirySeconds * 1000
    this.#log = opts.log
    this.#clock = opts.clock ?? systemClock
    this.#isOnline = opts.isOnline
    this.#exempt = opts.exempt ?? (() => false)
    this.#onExpired = opts.onExpired ?? (() => {})
    this.#intervalMs = opts.sweepIntervalMs ?? Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(MIN_SWEEP_INTERVAL_MS, Math.floor(this.#expiryMs / 4)))
  }

  get enabled (): boolean { return this.#expiryMs > 0 }

  /**
   * Gives a start time to sessions with none (their client was connected when the process died, or the data
   * predates session expiry): offline from now, as after a restart nobody is connected yet. Then starts sweeping.
   */
  async start (): Promise<void> {
    const now = this.#clock.now()
    const orphans = (await this.#store.sessionsWithoutRecord()).filter((id) => !this.#isOnline(id) && !this.#exempt(id))
    for (const id of orphans) await this.#store.markOffline(id, now)
    if (orphans.length > 0) this.#log.info({ sessions: orphans.length }, 'mqtt persistent sessions offline since start-up')
    this.#schedule(this.#intervalMs)
  }

  /** A persistent-session client disconnected. */
  offline (clientId: string): Promise<void> {
    if (this.#exempt(clientId)) return Promise.resolve()
    return this.#store.markOffline(clientId, this.#clock.now())
  }

  /** A client with this id is connecting: waits for a drop in progress, then forgets its offline time. */
  async online (clientId: string): Promise<void> {
    const dropping = this.#dropping.get(clientId)
    if (dropping !== undefined) await dropping.catch(() => {})
    await this.#store.markOnline(clientId)
  }

  /** Drops every session offline longer than the expiry, a batch at a time; returns how many it dropped. */
  async sweep (): Promise<number> {
    if (!this.enabled) return 0
    let total = 0
    for (;;) {
      const n = await this.#sweepBatch()
      total += n.dropped
      // Another batch only while batches make progress: a batch of nothing but skipped clients ends the loop.
      if (n.seen < SWEEP_BATCH || n.dropped === 0 || this.#closed) return total
    }
  }

  async #sweepBatch (): Promise<{ seen: number; dropped: number }> {
    const now = this.#clock.now()
    const due = await this.#store.offlineBefore(now - this.#expiryMs, SWEEP_BATCH)
    let dropped = 0
    for (const { clientId, since } of due) {
      if (this.#closed) break
      if (this.#isOnline(clientId) || this.#exempt(clientId)) {
        // Its connect is clearing the record right now (or failed to): not expired.
        await this.#store.markOnline(clientId)
        continue
      }
      const drop = this.#store.dropSession(clientId)
      this.#dropping.set(clientId, drop)
      try {
        const gone = await drop
        dropped++
        this.#onExpired(clientId)
        this.#log.info({ clientId, offlineSince: new Date(since).toISOString(), offlineSeconds: Math.round((now - since) / 1000), subscriptions: gone.subscriptions, queued: gone.queued }, 'mqtt session expired')
      } catch (err) {
        this.#log.error({ err, clientId }, 'mqtt session expiry failed; retried at the next sweep')
      } finally {
        this.#dropping.delete(clientId)
      }
    }
    return { seen: due.length, dropped }
  }

  #schedule (ms: number): void {
    if (this.#closed || !this.enabled) return
    this.#timer = this.#clock.setTimeout(() => { void this.#tick() }, ms)
  }

  async #tick (): Promise<void> {
    this.#timer = undefined
    // One batch per tick; a full batch means more are due, so the next tick follows at once (a new timer,
    // so other work runs in between) instead of after the interval.
    const run = this.#sweepBatch().then((r) => r, (err: unknown) => {
      this.#log.error({ err }, 'mqtt session expiry sweep failed')
      return { seen: 0, dropped: 0 }
    })
    this.#sweeping = run.then((r) => r.dropped)
    const r = await run
    this.#sweeping = undefined
    this.#schedule(r.seen >= SWEEP_BATCH && r.dropped > 0 ? 0 : this.#intervalMs)
  }

  /** Resolves when no timer-started sweep is running (tests wait on it after moving a manual clock). */
  async idle (): Promise<void> {
    while (this.#sweeping !== undefined) await this.#sweeping
  }

  /** Stops the timer and waits for a sweep in progress. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    await this.idle()
  }
}
