import type { Namespace } from '../../../core/store/index.ts'
import { KeyedMutex } from '../../../core/keyed-mutex.ts'
import { clientPrefix, offlineTimeKey, offlineTimePrefix, splitClientKey, splitOfflineTimeKey } from './keys.ts'

/** A persistent session whose client is offline, and since when (ms, the broker clock's time). */
export interface OfflineSession { clientId: string; since: number }

/**
 * When each persistent session's client went offline, kept on disk so that session expiry (the broker's
 * `mqtt.sessionExpirySeconds`, as mosquitto's `persistent_client_expiration`) holds across restarts.
 *
 * Two namespaces, always written together in one batch: `offline` (client → since), to find and clear a client's
 * record on reconnect, and `offline-at` (16-digit since, then client → since), the index a sweep reads in time order
 * with a cutoff and a limit, so no sweep ever scans every session. The index is keyed by the time the client
 * went offline, not by its expiry time, so a changed `sessionExpirySeconds` applies to every record at once.
 *
 * The `offline` map is mirrored in memory (one number per offline client; the subscription index holds more
 * per client already), so a connect of a client without a record costs no disk read.
 */
export class OfflineSessions {
  readonly #byClient: Namespace<number>
  readonly #byTime: Namespace<number>
  readonly #since = new Map<string, number>()
  readonly #serial = new KeyedMutex()

  constructor (ns: Namespace) {
    this.#byClient = ns.namespace<number>('offline')
    this.#byTime = ns.namespace<number>('offline-at')
  }

  async load (): Promise<void> {
    for await (const [key, since] of this.#byClient.entries()) this.#since.set(splitClientKey(key).clientId, since)
  }

  get size (): number { return this.#since.size }

  since (clientId: string): number | undefined { return this.#since.get(clientId) }

  /** Records that the client went offline at `at`; an existing record keeps its (earlier) time. */
  async mark (clientId: string, at: number): Promise<void> {
    await this.#serial.run([clientId], async () => {
      if (this.#since.has(clientId)) return
      await this.#byClient.batch([
        { type: 'put', key: clientPrefix(clientId), value: at },
        { type: 'put', key: offlineTimeKey(at, clientId), value: at, ns: this.#byTime },
      ])
      this.#since.set(clientId, at)
    })
  }

  /**
   * Forgets the client's record (it reconnected, or its session is gone); no I/O when it has none. Queued behind
   * a `mark` still in flight, so a quick disconnect-reconnect cannot leave a record behind an online client.
   */
  async clear (clientId: string): Promise<void> {
    await this.#serial.run([clientId], async () => {
      const since = this.#since.get(clientId)
      if (since === undefined) return
      await this.#byClient.batch([
        { type: 'del', key: clientPrefix(clientId) },
        { type: 'del', key: offlineTimeKey(since, clientId), ns: this.#byTime },
      ])
      this.#since.delete(clientId)
    })
  }

  /** Up to `limit` sessions offline since before `cutoff`, longest offline first: one bounded range read. */
  async before (cutoff: number, limit: number): Promise<OfflineSession[]> {
    const out: OfflineSession[] = []
    for await (const key of this.#byTime.keys({ lt: offlineTimePrefix(cutoff), limit })) out.push(splitOfflineTimeKey(key))
    return out
  }

  async idle (): Promise<void> { await this.#serial.idle() }
}
