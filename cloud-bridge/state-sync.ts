/**
 * Shadow sync. Reported: a change of a watched key only marks the key dirty (durably); when the link is up,
 * dirty keys are read and published as one document after `coalesceMs`, so 1,000 changes of one key during an
 * outage become one update carrying the latest value. Desired: versioned documents from the cloud are applied
 * through `StateAccess.applyDesired`, which refuses any version not newer than the last applied one.
 */
import type { MqttClient } from 'mqtt'
import type { Namespace } from '../core/store/index.ts'
import type { Clock } from '../core/clock.ts'
import type { Logger } from '../core/logger.ts'
import type { StateSyncConfig } from '../core/config/cloud-schema.ts'
import type { DesiredDocument, StateAccess } from './state-access.ts'

export interface StateSyncOptions {
  config: StateSyncConfig
  /** `<topic>` with `{id}` expanded. */
  baseTopic: string
  access: StateAccess
  /** Where dirty marks survive restarts. */
  ns: Namespace<number>
  clock: Clock
  log: Logger
}

export interface StateSyncStats { reportsSent: number; keysReported: number; desiredApplied: number; desiredStale: number; desiredInvalid: number }

const MAX_KEYS_PER_REPORT = 500

export class StateSync {
  readonly #o: StateSyncOptions
  readonly #dirty = new Map<string, number>()
  #gen = 0
  #client: MqttClient | undefined
  #timer: unknown
  #sending = false
  #unwatch: () => void
  readonly stats: StateSyncStats = { reportsSent: 0, keysReported: 0, desiredApplied: 0, desiredStale: 0, desiredInvalid: 0 }

  private constructor (o: StateSyncOptions) {
    this.#o = o
    this.#unwatch = o.access.watch(o.config.prefix, (key) => { this.#markDirty(key) })
  }

  static async create (o: StateSyncOptions): Promise<StateSync> {
    const sync = new StateSync(o)
    for await (const [key, gen] of o.ns.entries()) sync.#dirty.set(key, Math.max(gen, sync.#dirty.get(key) ?? 0))
    for (const g of sync.#dirty.values()) sync.#gen = Math.max(sync.#gen, g)
    return sync
  }

  get reportedTopic (): string { return `${this.#o.baseTopic}/reported` }
  get desiredTopic (): string { return `${this.#o.baseTopic}/desired` }
  get pending (): number { return this.#dirty.size }

  attach (client: MqttClient): void {
    this.#client = client
    client.subscribe(this.desiredTopic, { qos: this.#o.config.qos }, (err) => {
      if (err != null) this.#o.log.warn({ err }, 'cannot subscribe to desired state')
    })
    this.#schedule()
  }

  detach (): void {
    this.#client = undefined
    this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** A message on the desired topic. */
  async onDesired (payload: Buffer): Promise<void> {
    let doc: DesiredDocument
    try {
      const parsed = JSON.parse(payload.toString('utf8')) as Partial<DesiredDocument>
      if (typeof parsed.version !== 'number' || !Number.isFinite(parsed.version) || parsed.state === null || typeof parsed.state !== 'object') throw new Error('needs {version: number, state: object}')
      doc = { version: parsed.version, state: parsed.state }
    } catch (err) {
      this.stats.desiredInvalid++
      this.#o.log.warn({ err: err as Error }, 'desired state document ignored')
      return
    }
    const prefix = this.#o.config.prefix
    const state: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(doc.state)) state[prefix + k] = v
    const applied = await this.#o.access.applyDesired({ version: doc.version, state })
    if (applied) this.stats.desiredApplied++
    else { this.stats.desiredStale++; this.#o.log.info({ version: doc.version }, 'stale desired state document ignored') }
  }

  #markDirty (key: string): void {
    const gen = ++this.#gen
    const wasDirty = this.#dirty.has(key)
    this.#dirty.set(key, gen)
    // One flash write per key per outage, not per change: a key already marked is already marked on disk, and
    // only the in-memory generation decides whether a report covered the latest change.
    if (!wasDirty) this.#o.ns.put(key, gen).catch((err) => { this.#o.log.error({ err: err as Error }, 'cannot persist a dirty state mark') })
    this.#schedule()
  }

  #schedule (): void {
    if (this.#client === undefined || this.#timer !== undefined || this.#dirty.size === 0) return
    this.#timer = this.#o.clock.setTimeout(() => { this.#timer = undefined; void this.#flush() }, this.#o.config.coalesceMs)
  }

  async #flush (): Promise<void> {
    const client = this.#client
    if (client === undefined || this.#sending || this.#dirty.size === 0) return
    this.#sending = true
    try {
      const batch = [...this.#dirty].slice(0, MAX_KEYS_PER_REPORT)
      const prefix = this.#o.config.prefix
      const state: Record<string, unknown> = {}
      for (const [key] of batch) state[key.slice(prefix.length)] = (await this.#o.access.get(key)) ?? null
      const payload = Buffer.from(JSON.stringify({ ts: this.#o.clock.now(), state }))
      await new Promise<void>((resolve, reject) => {
        client.publish(this.reportedTopic, payload, { qos: this.#o.config.qos }, (err) => { if (err == null) resolve(); else reject(err) })
      })
      this.stats.reportsSent++
      this.stats.keysReported += batch.length
      // A key changed again while the report was in flight stays dirty and goes in the next one.
      const done = batch.filter(([key, gen]) => this.#dirty.get(key) === gen).map(([key]) => key)
      for (const key of done) this.#dirty.delete(key)
      await this.#o.ns.batch(done.map((key) => ({ type: 'del', key })))
    } catch (err) {
      this.#o.log.warn({ err: err as Error }, 'reported state not sent; retrying on the next connection')
      return
    } finally {
      this.#sending = false
    }
    this.#schedule()
  }

  close (): void {
    this.detach()
    this.#unwatch()
  }
}
