/**
 * The cloud bridge: local bus → durable outbox → cloud broker, and cloud → local bus, plus shadow sync.
 * It sees only `core` interfaces (LocalBus, Store/Namespace, Clock, Logger); the composition root wires it.
 */
import type { LocalBus, BusMessage } from '../core/bus.ts'
import type { Namespace, Store } from '../core/store/index.ts'
import { systemClock, type Clock } from '../core/clock.ts'
import type { Logger } from '../core/logger.ts'
import type { CloudConfig, CloudConfigInput } from '../core/config/cloud-schema.ts'
import { MechaError, isMechaError } from '../core/errors.ts'
import { resolveCloudConfig } from './config.ts'
import { Outbox, type QueuedItem } from './outbox.ts'
import { Sender } from './sender.ts'
import { Link } from './link.ts'
import { RawPublisher } from './raw-publisher.ts'
import { Rules } from './rules.ts'
import { TlsFiles } from './tls-files.ts'
import { StatusStream, type CloudSnapshot, type CloudStatus } from './status.ts'
import { decorrelatedJitter, type DelayFn } from './backoff.ts'
import { expandId } from './topics.ts'
import { StateSync, type StateSyncStats } from './state-sync.ts'
import type { StateAccess } from './state-access.ts'
import type { Ledger } from './ledger.ts'

/** Messages the bridge itself puts on the local bus carry this origin; like `cloud`, it is never forwarded. */
export const BRIDGE_ORIGIN = 'cloud-bridge'

/**
 * Whether a local message may go up to the cloud at all: messages from the cloud, and the bridge's own
 * status and dead letters, never do (no loops). The one rule for the outbox's interceptor and for whoever
 * holds publishes while a link is replaced (the bridge's own status publishes must not wait for that).
 */
export function mayForward (msg: Pick<BusMessage, 'origin'>): boolean {
  return msg.origin !== 'cloud' && msg.origin !== BRIDGE_ORIGIN
}
const DRAINING_EVERY_MS = 1000
const TTL_SWEEP_MS = 60_000

export interface CloudBridgeOptions {
  config: CloudConfig | CloudConfigInput
  /** The node id: `{id}` in client id and topics. */
  nodeId: string
  /** The store (the bridge uses its `cloud-outbox` namespace) or the namespace to use. */
  store: Store | Namespace<any>
  bus: LocalBus
  log: Logger
  /** @default systemClock */
  clock?: Clock
  /** Required when `config.stateSync` is set. */
  stateAccess?: StateAccess
  /** Reconnect delay; @default decorrelated jitter between backoff.minMs and backoff.maxMs */
  delay?: DelayFn
}

export interface CloudBridgeStats {
  ledger: Ledger
  inflight: number
  connected: boolean
  batches: number
  bytesSaved: number
  /** Messages handed to the sender with their outbox write, not read back (live traffic while caught up). */
  handedOver: number
  /** Messages the sender had read ahead but the outbox then evicted or expired: taken back, never published. */
  withdrawn: number
  /** Outbox writes that failed (the publisher got no ack, so nothing was lost, but nothing was queued either). */
  writeErrors: number
  state?: StateSyncStats
}

export class CloudBridge {
  readonly config: CloudConfig
  readonly #o: CloudBridgeOptions
  readonly #clock: Clock
  readonly #log: Logger
  readonly #status: StatusStream<CloudStatus>
  readonly #rules: Rules
  #outbox!: Outbox
  #sender!: Sender
  #link!: Link
  #tls!: TlsFiles
  #state: StateSync | undefined
  #unintercept: () => void = () => {}
  #raw: RawPublisher | undefined
  #writeErrors = 0
  #lastDraining = 0
  #statusChain: Promise<void> = Promise.resolve()
  #sweepTimer: unknown
  #closing: Promise<void> | undefined

  private constructor (o: CloudBridgeOptions, config: CloudConfig) {
    this.#o = o
    this.config = config
    this.#clock = o.clock ?? systemClock
    this.#log = o.log.child({ part: 'cloud-bridge' })
    this.#status = new StatusStream<CloudStatus>({ type: 'disconnected', reason: 'not started', at: this.#clock.now() })
    this.#rules = new Rules(config, o.nodeId)
  }

  static async create (o: CloudBridgeOptions): Promise<CloudBridge> {
    const config = resolveCloudConfig(o.config)
    if (config.stateSync !== undefined && o.stateAccess === undefined) throw new TypeError('cloud.stateSync is set but no stateAccess was given')
    const bridge = new CloudBridge(o, config)
    await bridge.#start()
    return bridge
  }

  async #start (): Promise<void> {
    const { config, nodeId } = { config: this.config, nodeId: this.#o.nodeId }
    const base: Namespace<any> = 'path' in this.#o.store ? this.#o.store : this.#o.store.namespace('cloud-outbox')
    // fsync is a property of the whole store (one LevelDB, group commit): the composition root opens it with
    // `power` when the outbox asks for it; say so loudly when it did not.
    if (!('path' in this.#o.store) && config.outbox.durability === 'power' && this.#o.store.durability !== 'power') {
      this.#log.warn('cloud.outbox.durability is power but the store was opened with process durability (set store.durability: power): a power cut may lose acknowledged messages')
    }
    const { maxBytes, maxMessages, whenFull } = config.outbox
    this.#outbox = await Outbox.create({
      ns: base, maxBytes, maxMessages, whenFull, clock: this.#clock, log: this.#log,
      onFull: () => { this.#status.emit({ type: 'outbox-full', policy: whenFull, count: this.#outbox.count, bytes: this.#outbox.bytes, at: this.#clock.now() }) },
    })
    try {
      this.#tls = await TlsFiles.create({ ca: config.ca, cert: config.cert, key: config.key }, config.tlsReloadMs, this.#log)
    } catch (err) {
      await this.#outbox.close()
      throw new MechaError('MECHA_ERR_CLOUD_TLS', `cloud TLS files: ${(err as Error).message}`, { cause: err })
    }
    this.#sender = new Sender({
      outbox: this.#outbox, nodeId, protocolVersion: config.protocolVersion, envelope: config.envelope, window: config.inflight,
      clock: this.#clock, log: this.#log, batches: this.#rules.batches,
      onRefused: (items, code, reason) => { this.#deadLetter(items, code, reason) },
      onProgress: () => { this.#progress() },
      onBroken: (reason) => { this.#link.reconnect(reason) },
    })
    this.#outbox.onAppend((item) => { this.#sender.notify(item) })
    if (config.stateSync !== undefined) {
      this.#state = await StateSync.create({
        config: config.stateSync, baseTopic: expandId(config.stateSync.topic, nodeId), access: this.#o.stateAccess as StateAccess,
        ns: base.namespace('state-dirty'), clock: this.#clock, log: this.#log,
      })
    }
    this.#link = new Link({
      config, clientId: expandId(config.clientId, nodeId), clock: this.#clock, log: this.#log, status: this.#status, tls: this.#tls,
      delay: this.#o.delay ?? decorrelatedJitter(config.backoff.minMs, config.backoff.maxMs),
      onConnected: (client, info) => {
        for (const r of this.#rules.receive) {
          client.subscribe(r.from, { qos: r.qos }, (err) => { if (err != null) this.#log.warn({ err, filter: r.from }, 'cloud subscribe failed') })
        }
        this.#state?.attach(client)
        this.#raw = new RawPublisher(client, config.protocolVersion)
        this.#sender.attach(this.#raw, info.receiveMaximum)
        this.#lastDraining = 0
        this.#progress()
      },
      onDisconnected: () => { this.#sender.detach(); this.#raw?.close(); this.#raw = undefined; this.#state?.detach() },
      onMessage: (topic, payload, qos, retain) => this.#fromCloud(topic, payload, qos, retain),
    })
    this.#tls.onChange(() => { this.#link.reconnect('TLS files changed') })
    this.#status.on((s) => { this.#publishStatus(s) })
    this.#unintercept = this.#o.bus.intercept((msg) => this.#intercept(msg))
    if (this.#rules.hasTtl) this.#scheduleSweep()
    this.#link.start()
  }

  /** The latest status. */
  get status (): CloudStatus { return this.#status.current }
  /** Every status change: `.on(fn)`, or `for await (const s of bridge.statusStream)`. */
  get statusStream (): StatusStream<CloudStatus> { return this.#status }

  ledger (): Ledger { return this.#outbox.ledger() }

  /** When the oldest queued message was accepted (ms since the epoch), for the UI's backlog age. */
  oldestQueuedAt (): Promise<number | undefined> { return this.#outbox.oldestQueuedAt() }

  /** Drops what the outbox holds and has not sent yet (counted as `dropped.admin`); returns how many. */
  async dropQueued (): Promise<number> {
    const n = await this.#outbox.dropQueued()
    this.#o.log.warn({ dropped: n }, 'queued cloud messages dropped by an operator')
    return n
  }

  snapshot (): CloudSnapshot {
    return { status: this.#status.current, connected: this.#link.connected, url: this.#link.url, ledger: this.#outbox.ledger() }
  }

  stats (): CloudBridgeStats {
    const b = this.#sender.batchStats
    return {
      ledger: this.#outbox.ledger(), inflight: this.#sender.inflight, connected: this.#link.connected, batches: b.batches, bytesSaved: b.bytesSaved,
      handedOver: this.#sender.handedOver, withdrawn: this.#sender.withdrawn, writeErrors: this.#writeErrors,
      ...(this.#state === undefined ? {} : { state: { ...this.#state.stats } }),
    }
  }

  /** Resolves when every outbox write issued so far has landed (tests, shutdown). */
  flushed (): Promise<void> { return this.#outbox.flushed() }

  /** Runs before the local broker acknowledges a publish: a forwarded message is durable before its PUBACK. */
  async #intercept (msg: BusMessage): Promise<void> {
    if (!mayForward(msg)) return
    const match = this.#rules.forwardFor(msg.topic)
    if (match === undefined) return
    const { rule, cloudTopic } = match
    const retain = rule.retain ?? msg.retain
    if (msg.qos === 0 && !rule.queueQos0) {
      const sent = this.#sender.sendDirect(cloudTopic, msg.payload, retain)
      // QoS 0 has no ack to hold back: the counter write goes with the next batch, off the publish path (a
      // failing write must not reject a message that already left).
      void this.#outbox.account(sent ? 'delivered' : 'offline').catch((err: unknown) => { this.#log.error({ err: err as Error }, 'ledger write failed') })
      return
    }
    try {
      await this.#outbox.enqueue({
        topic: cloudTopic, localTopic: msg.topic, payload: msg.payload, qos: rule.qos, retain, priority: rule.priority,
        ...(rule.ttlMs === undefined ? {} : { ttlMs: rule.ttlMs }),
        ...(rule.batchTopic === undefined ? {} : { batchTopic: rule.batchTopic }),
      })
    } catch (err) {
      if (!isMechaError(err, 'MECHA_ERR_OUTBOX_FULL')) {
        this.#writeErrors++
        this.#log.error({ err: err as Error, topic: msg.topic }, 'outbox write failed')
        const reason = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message
        this.#status.emit({ type: 'outbox-error', reason, errors: this.#writeErrors, at: this.#clock.now() })
      }
      throw err
    }
  }

  async #fromCloud (topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): Promise<void> {
    if (this.#state !== undefined && topic === this.#state.desiredTopic) { await this.#state.onDesired(payload); return }
    const match = this.#rules.receiveFor(topic)
    if (match === undefined) return
    const q = Math.min(qos, match.rule.qos) as 0 | 1 | 2
    await this.#o.bus.publish({ topic: match.localTopic, payload, qos: q, retain, origin: 'cloud' })
  }

  #deadLetter (items: QueuedItem[], code: number, reason: string): void {
    this.#log.warn({ code, reason, count: items.length, topic: items[0]?.entry.topic }, 'the cloud refused a message: dead-lettered')
    for (const { entry } of items) {
      const payload = Buffer.from(JSON.stringify({
        id: entry.id, topic: entry.localTopic, cloudTopic: entry.topic, reasonCode: code, reason, ts: entry.ts, payload: entry.payload.toString('base64'),
      }))
      this.#o.bus.publish({ topic: this.config.rejectedTopic, payload, qos: 1, retain: false, origin: BRIDGE_ORIGIN }).catch((err) => {
        this.#log.error({ err: err as Error }, 'dead letter not published')
      })
    }
  }

  /** Backlog figures while draining, at most once a second; `drained` when the backlog is gone. */
  #progress (): void {
    if (!this.#link.connected) return
    const now = this.#clock.now()
    const backlog = this.#outbox.count
    if (backlog === 0 && this.#sender.inflight === 0) {
      // Announce it once the deletes are on disk, so a ledger read on `drained` shows nothing queued.
      void this.#outbox.flushed().then(() => {
        const t = this.#status.current.type
        if (this.#link.connected && this.#outbox.count === 0 && (t === 'draining' || t === 'connected')) this.#status.emit({ type: 'drained', at: this.#clock.now() })
      })
      return
    }
    // Live traffic always has a few messages in flight: that is not a backlog, and flipping between `draining`
    // and `drained` on every ack would flood the retained status topic. At most one `draining` a second.
    if (backlog <= this.#sender.inflight) return
    if (this.#lastDraining !== 0 && now - this.#lastDraining < DRAINING_EVERY_MS) return
    const elapsed = this.#lastDraining === 0 ? 0 : now - this.#lastDraining
    const delivered = this.#sender.delivered
    const rate = elapsed > 0 ? Math.round((delivered - this.#deliveredAtLast) * 1000 / elapsed) : 0
    this.#deliveredAtLast = delivered
    this.#lastDraining = now
    this.#status.emit({ type: 'draining', backlog, backlogBytes: this.#outbox.bytes, inflight: this.#sender.inflight, sentPerSecond: rate, at: now })
  }

  #deliveredAtLast = 0

  /** Retained on the local bus so local apps see the link's state; published in order, never blocking the link. */
  #publishStatus (s: CloudStatus): void {
    const payload = Buffer.from(JSON.stringify(s))
    this.#statusChain = this.#statusChain.then(() => this.#o.bus.publish({ topic: this.config.statusTopic, payload, qos: 0, retain: true, origin: BRIDGE_ORIGIN })).catch(() => {})
  }

  #scheduleSweep (): void {
    this.#sweepTimer = this.#clock.setTimeout(() => {
      this.#outbox.sweepExpired().then((n) => { if (n > 0) this.#log.info({ expired: n }, 'expired outbox messages dropped') }, () => {})
        .finally(() => { if (this.#closing === undefined) this.#scheduleSweep() })
    }, TTL_SWEEP_MS)
  }

  /** Idempotent. Stops taking messages, says DISCONNECT, waits for outbox writes; the store stays open (it is the caller's). */
  close (): Promise<void> {
    this.#closing ??= (async () => {
      this.#unintercept()
      this.#clock.clearTimeout(this.#sweepTimer)
      this.#tls.close()
      this.#state?.close()
      await this.#link.close()
      this.#sender.close()
      await this.#outbox.close()
      this.#status.emit({ type: 'closed', at: this.#clock.now() })
      await this.#statusChain
      this.#status.close()
    })()
    return this.#closing
  }
}
