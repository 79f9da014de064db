import { createServer, type Server, type Socket } from 'node:net'
import { Transform, type Duplex } from 'node:stream'
import { Aedes } from 'aedes'
import type { Clock } from '../../core/clock.ts'
import { RUNTIME_SESSION_PREFIX, type BusHandler, type BusMessage, type LocalBus, type PublishInterceptor } from '../../core/bus.ts'
import type { MqttConfig } from '../../core/config/index.ts'
import { MechaError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import type { Metrics } from '../../core/metrics.ts'
import { verifyPassword } from '../../core/passwords.ts'
import { Acl } from './acl.ts'
import { addressOf, listenOn } from '../http-listener.ts'
import { duplexPair } from './duplex-pair.ts'
import { EmitGate, Turns } from './publish-order.ts'
import { inline } from './inline-delivery.ts'
import { coalesceWrites } from './write-coalescing.ts'
import { BrokerMetrics, type RejectReason } from './broker-metrics.ts'
import type { SessionExpiryStore } from './persistence/index.ts'
import { SessionExpiry } from './session-expiry.ts'

export interface BrokerOptions {
  config: MqttConfig
  log: Logger
  metrics: Metrics
  /** An aedes persistence (the LevelDB one in the runtime); aedes' in-memory one when absent. */
  persistence?: unknown
  /** The time session expiry runs on (tests pass a ManualClock). */
  clock?: Clock
}

/** A connection's byte counters, kept for closed ones too so the totals only grow. */
interface Counted { bytesRead: number; bytesWritten: number }

const REJECT_CODE: Record<number, string> = { 2: 'identifier rejected', 3: 'server unavailable', 4: 'bad user name or password', 5: 'not authorized' }

const PUBLISHED = Symbol('mecha.published')

/**
 * The identities of the last `size` packets delivered to one client. Nearly every packet comes from this
 * broker, so its counters are kept as numbers under that one broker id (no key string built per delivery);
 * packets of another broker id (restored from an earlier run) go by a string key.
 */
class RecentKeys {
  readonly #size: number
  #brokerId: string | undefined
  readonly #counters = new Set<number>()
  readonly #others = new Set<string>()
  constructor (size: number) { this.#size = size }
  /** True when this packet was delivered already; records it otherwise. */
  repeat (p: { brokerId?: string; brokerCounter?: number }): boolean {
    const brokerId = p.brokerId
    const counter = p.brokerCounter
    if (brokerId === undefined || counter === undefined) return false
    this.#brokerId ??= brokerId
    if (brokerId === this.#brokerId) return seenBefore(this.#counters, counter, this.#size)
    return seenBefore(this.#others, `${brokerId}:${counter}`, this.#size)
  }
}

function seenBefore<K> (set: Set<K>, key: K, size: number): boolean {
  if (set.has(key)) return true
  set.add(key)
  if (set.size > size) set.delete(set.values().next().value!)
  return false
}

const noop = (): void => {}

interface QueueProbe { awaitingDelivery?: (clientId: string, packet: { brokerId?: string; brokerCounter?: number }) => boolean }

/** Session expiry needs a persistence that records offline times (LevelPersistence); aedes' in-memory one does not. */
function isSessionExpiryStore (p: unknown): p is SessionExpiryStore {
  return typeof (p as SessionExpiryStore | undefined)?.markOffline === 'function' && typeof (p as SessionExpiryStore).dropSession === 'function'
}

function connackError (returnCode: 2 | 3 | 4 | 5, message: string): Error {
  return Object.assign(new Error(`${REJECT_CODE[returnCode]}: ${message}`), { returnCode })
}

/**
 * The embedded MQTT broker: aedes (MQTT 3.1.1 and 3.1) with users, ACL and limits, on a TCP listener and on
 * any stream handed to `handle()` (MQTT over WebSocket). It is the runtime's LocalBus.
 */
export class MqttBroker implements LocalBus {
  readonly #aedes: any
  #config: MqttConfig
  readonly #log: Logger
  #acl: Acl
  #users: Map<string, string>
  readonly #interceptors = new Set<PublishInterceptor>()
  readonly #live = new Set<Counted>()
  /** Streams of the runtime's own MQTT clients (subscription sessions): trusted, not subject to users/ACL. */
  readonly #internal = new WeakSet<object>()
  readonly #closedBytes = { read: 0, written: 0 }
  readonly metrics: BrokerMetrics
  /** Connections past preConnect and not yet ready, by client id: online for session expiry, not yet in aedes.clients. */
  readonly #attaching = new Map<string, Set<object>>()
  /** Ordered topics [MQTT-4.6.0-6]: see publish-order.ts. */
  readonly #turns = new Turns<object>()
  readonly #emitGate = new EmitGate()
  /** The source of the runtime's own publishes (LocalBus.publish), ordered like a client's. */
  readonly #runtimeSource = {}
  #expiry: SessionExpiry | undefined
  /** Tells whether a queued packet still waits for its first delivery (LevelPersistence does). */
  readonly #persistence: QueueProbe | undefined
  #server: Server | undefined
  #closed = false

  private constructor (aedes: any, opts: BrokerOptions) {
    this.#aedes = aedes
    this.#config = opts.config
    this.#log = opts.log
    this.#acl = new Acl(opts.config.acl)
    this.#users = new Map(opts.config.users.map((u) => [u.username, u.password]))
    this.metrics = new BrokerMetrics(opts.metrics, () => this.#sample())
    this.#persistence = opts.persistence as QueueProbe | undefined
    if (isSessionExpiryStore(opts.persistence)) {
      const store = opts.persistence
      this.#expiry = new SessionExpiry({
        store,
        expirySeconds: opts.config.sessionExpirySeconds,
        log: opts.log,
        clock: opts.clock,
        isOnline: (id) => this.#isOnline(id),
        exempt: (id) => id.startsWith(RUNTIME_SESSION_PREFIX),
        onExpired: () => { this.metrics.sessionsExpired.inc() },
      })
      this.metrics.watchOfflineSessions(() => store.offlineCount)
    }
  }

  static async create (opts: BrokerOptions): Promise<MqttBroker> {
    let self: MqttBroker | undefined
    const aedes = await Aedes.createBroker({
      persistence: opts.persistence as any,
      connectTimeout: opts.config.connectTimeoutMs,
      maxInflightInbound: opts.config.maxInflight,
      preConnect: (client: any, packet: any, cb: any) => { self!.#preConnect(client, packet, cb) },
      authenticate: (client: any, username: any, password: any, cb: any) => { self!.#authenticate(client, username, password).then((ok) => cb(null, ok), (err) => cb(err, false)) },
      authorizePublish: (client: any, packet: any, cb: any) => { self!.#authorizePublish(client, packet, cb) },
      authorizeSubscribe: (client: any, sub: any, cb: any) => { cb(null, self!.#authorizeSubscribe(client, sub)) },
    })
    self = new MqttBroker(aedes, opts)
    self.#wire()
    self.#orderDelivery()
    self.#markRedeliveries()
    self.#persistBeforePuback()
    await self.#expiry?.start()
    return self
  }

  #wire (): void {
    const a = this.#aedes
    a.on('publish', (packet: any, client: any) => { if (client != null) this.metrics.in(packet.qos) })
    a.on('client', () => { this.metrics.connections.inc() })
    a.on('clientReady', (client: any) => {
      client._mechaConnectedAt = new Date().toISOString()
      this.#attached(client.id, client)
      client._mechaReplayed?.()
    })
    a.on('clientDisconnect', (client: any) => {
      // A persistent session's client went offline: its session expiry starts now. Not when another connection
      // with this id is taking over (aedes closes the old one while the new one connects [MQTT-3.1.4-2]).
      this.#attached(client.id, client) // closed before it was ready: it is not the one taking over
      if (client.clean !== false || this.#expiry === undefined || this.#isOnline(client.id)) return
      this.#expiry.offline(client.id).catch((err: unknown) => { this.#log.error({ err, clientId: client.id }, 'mqtt offline time not recorded') })
    })
    a.on('clientError', (client: any, err: Error) => {
      if (/maxInflightInbound/.test(err.message)) {
        // Every packet past the limit in the same read errors; the client is closed once, counted once.
        if (client?._mechaInflightCounted !== true) this.#reject('too_many_inflight', client?.id, err.message)
        if (client != null) client._mechaInflightCounted = true
      }
      else this.#log.debug({ clientId: client?.id, err: err.message }, 'mqtt client error')
    })
    // aedes emits 'error' when its persistence fails (a full disk): log it; an unhandled one would crash us.
    a.on('error', (err: Error) => { this.#log.error({ err }, 'broker persistence error') })
    a.on('connectionError', (_client: any, err: Error) => {
      this.#reject('protocol', undefined, err.message)
    })
  }

  /**
   * aedes answers a QoS 1 PUBLISH with PUBACK first and only then stores it (retained, offline queues), so a
   * kill -9 in between would lose a message the publisher saw acknowledged. We publish QoS 1 packets in
   * full inside authorizePublish, which aedes awaits before the PUBACK, and make aedes' own later publish of
   * the same packet a no-op. QoS 2 is already stored before PUBREC, QoS 0 has no ack.
   */
  #persistBeforePuback (): void {
    const a = this.#aedes
    const original = a.publish.bind(a)
    // Every publish aedes numbers (a new broker counter) is registered with the emit gate under its source,
    // before aedes starts it: a QoS 0 packet reaches delivery synchronously, inside the call.
    const numbered = (packet: any, client: any, done: any): void => {
      const source = client ?? this.#runtimeSource
      const before: number = a.counter
      const counter = before + 1
      this.#emitGate.numbered(source, counter)
      let ended = false
      original(packet, client, (err?: Error) => {
        ended = true
        this.#emitGate.settled(counter)
        ;(done ?? noop)(err)
      })
      // The packet kept a counter it had (or was refused before aedes numbered it): nothing to wait for.
      if (!ended && a.counter === before) this.#emitGate.settled(counter)
    }
    a.publish = (packet: any, client: any, done: any) => {
      if (typeof client === 'function') { done = client; client = null }
      if (packet?.[PUBLISHED] === true) { (done ?? noop)(null); return }
      numbered(packet, client, done)
    }
    this.#publishNow = (packet: any, client: any, done: (err: Error | null) => void) => {
      numbered(packet, client, (err?: Error) => { if (err != null) done(err); else { packet[PUBLISHED] = true; done(null) } })
    }
  }

  /**
   * aedes replays a persistent session's queue on reconnect as stored; a PUBLISH that already has a packet id
   * was sent before, so its redelivery must carry DUP [MQTT-3.3.1-1] (aedes leaves it 0).
   */
  #markRedeliveries (): void {
    const persistence = this.#aedes.persistence
    const stream = persistence.outgoingStream.bind(persistence)
    persistence.outgoingStream = (client: any) => stream(client).pipe(new Transform({
      objectMode: true,
      transform (p: any, _enc, next) { next(null, p?.cmd === 'publish' && p.messageId != null && p.dup !== true ? { ...p, dup: true } : p) },
    }))
  }

  /** aedes hands a stored packet to delivery through `mq.emit`: the gate releases them in order per source. */
  #orderDelivery (): void {
    const mq = this.#aedes.mq
    const emit = mq.emit.bind(mq)
    const aedesId: string = this.#aedes.id
    mq.emit = (packet: any, cb: any) => {
      const counter = packet?.brokerId === aedesId ? packet.brokerCounter : undefined
      this.#emitGate.emit(counter, emit, packet, cb)
    }
  }

  #publishNow: (packet: any, client: any, done: (err: Error | null) => void) => void = (_p, _c, done) => { done(null) }

  #reject (reason: RejectReason, clientId: string | undefined, detail: string): void {
    this.metrics.reject(reason)
    this.#log.warn({ clientId, reason, detail }, 'mqtt rejected')
  }

  #preConnect (client: any, packet: any, cb: (err: Error | null, ok: boolean) => void): void {
    client._mechaConnect = { emptyId: packet.clientId === '', clean: packet.clean === true }
    const id: string = packet.clientId
    // aedes drops a packet whose broker counter is below the last one this client received (its guard
    // against overlapping subscriptions delivering twice). With a persistence doing real I/O, QoS 1/2 packets
    // are emitted only after their store completes, so counters reach a client out of order and aedes would
    // silently drop messages. We switch that off and dedupe by packet identity instead.
    client.duplicates = new Proxy(Object.create(null), { get: () => 0, set: () => true, deleteProperty: () => true })
    const seen = new RecentKeys(1024)
    // aedes registers these two functions as the subscription handlers while the client connects, so they
    // are wrapped here, before that happens (also to count messages out).
    const d0 = client.deliver0; const dq = client.deliverQoS
    const deliver0 = (p: any, done: any): void => {
      if (seen.repeat(p)) { setImmediate(done); return }
      this.metrics.out(0); d0(p, done)
    }
    client.deliver0 = deliver0
    // A persistent session's queue is replayed after CONNACK while its subscriptions are already live: a
    // message published meanwhile would overtake the queued ones [MQTT-4.6.0-6]. Live deliveries wait until
    // the replay is done (clientReady); those the replay already sent (they were queued too) are skipped.
    let held: any[] | undefined = packet.clean === false ? [] : undefined
    client.deliverQoS = (p: any, done: any) => {
      if (p.qos === 0) { deliver0(p, done); return }
      if (seen.repeat(p)) { setImmediate(done); return }
      if (held !== undefined) { held.push(p); setImmediate(done); return }
      // QoS 1/2: written in this turn (inline-delivery.ts); QoS 0 keeps aedes' hop (no ack waits on it, and
      // inline cost it CPU per delivery).
      this.metrics.out(p.qos); inline(dq, p, done)
    }
    client._mechaReplayed = () => {
      const waiting = held
      held = undefined
      for (const p of waiting ?? []) {
        if (p.brokerId != null && this.#persistence?.awaitingDelivery?.(client.id, p) === false) continue
        this.metrics.out(p.qos); inline(dq, p, noop)
      }
    }
    if (this.#expiry === undefined || id === '') { cb(null, true); return }
    // From here until ready or closed this client id is online: a sweep does not drop its session, and a drop
    // already running finishes before aedes restores the session, so the client sees all of it or none.
    this.#attaching.set(id, (this.#attaching.get(id) ?? new Set()).add(client))
    client.conn?.once?.('close', () => { this.#attached(id, client) })
    this.#expiry.online(id).then(
      () => { cb(null, true) },
      (err: unknown) => {
        // The record stays; a sweep still sees the client online, and its next disconnect keeps the old time.
        this.#log.warn({ err, clientId: id }, 'mqtt offline time not cleared')
        cb(null, true)
      })
  }

  #attached (id: string, client: object): void {
    const set = this.#attaching.get(id)
    if (set === undefined) return
    set.delete(client)
    if (set.size === 0) this.#attaching.delete(id)
  }

  #isOnline (id: string): boolean {
    return this.#aedes.clients[id] !== undefined || this.#attaching.has(id)
  }

  /** Session expiry, when the persistence supports it (tests drive `sweep()` and `idle()`). */
  get sessionExpiry (): SessionExpiry | undefined { return this.#expiry }

  async #authenticate (client: any, username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    const info = client._mechaConnect ?? {}
    // [MQTT-3.1.3-8] a zero-byte client id with CleanSession 0 is refused with CONNACK 0x02.
    if (info.emptyId === true && info.clean === false) {
      this.#reject('client_id', undefined, 'empty client id with clean session 0')
      throw connackError(2, 'a zero-length client id needs clean session 1 [MQTT-3.1.3-8]')
    }
    // The runtime's own sessions (pub/sub delivery) are never refused: outside clients filling the broker
    // must not stop delivery to the apps.
    if (this.#internal.has(client.conn)) return true
    if (this.#aedes.connectedClients >= this.#config.maxClients) {
      this.#reject('too_many_clients', client.id, `${this.#config.maxClients} clients connected`)
      throw connackError(3, `mqtt.maxClients (${this.#config.maxClients}) reached`)
    }
    if (typeof client.id === 'string' && client.id.startsWith(RUNTIME_SESSION_PREFIX)) {
      // A subscription's session holds an app's queued events: only the runtime may attach to it.
      this.#reject('client_id', client.id, 'reserved client id prefix')
      throw connackError(2, `client ids starting with ${RUNTIME_SESSION_PREFIX} are reserved for the runtime`)
    }
    if (this.#users.size === 0) return true // anonymous: the config allows this only on loopback listeners
    const hash = username === undefined ? undefined : this.#users.get(username)
    if (hash === undefined || password === undefined || !(await verifyPassword(password.toString('utf8'), hash))) {
      this.#reject('auth', client.id, `user ${username ?? '(none)'}`)
      throw connackError(4, 'bad user name or password')
    }
    client._mechaUser = username
    return true
  }

  #authorizePublish (client: any, packet: any, cb: (err: Error | null) => void): void {
    const payload: Buffer = packet.payload ?? Buffer.alloc(0)
    if (payload.length > this.#config.maxPayloadBytes) {
      // [MQTT-3.3.5-2] 3.1.1 has no negative ack: the server closes the connection.
      this.#reject('too_large', client?.id, `${payload.length} bytes on ${packet.topic}`)
      cb(new MechaError('MECHA_ERR_MQTT_PAYLOAD_TOO_LARGE', `payload of ${payload.length} bytes exceeds mqtt.maxPayloadBytes (${this.#config.maxPayloadBytes})`))
      return
    }
    if (packet.topic.startsWith('$SYS')) {
      this.#reject('acl', client?.id, `publish to ${packet.topic}`)
      cb(new MechaError('MECHA_ERR_MQTT_ACL', 'clients may not publish to $SYS topics'))
      return
    }
    if (client != null && !this.#internal.has(client.conn) && !this.#acl.allows({ username: client._mechaUser, clientId: client.id }, 'publish', packet.topic)) {
      this.#reject('acl', client?.id, `publish to ${packet.topic}`)
      cb(new MechaError('MECHA_ERR_MQTT_ACL', `publish to ${packet.topic} denied`))
      return
    }
    // The interceptors (the cloud outbox) of concurrent packets run at once and finish in any order; what
    // follows them — the publish that numbers the packet — takes its turn in arrival order (publish-order.ts).
    const source = client ?? this.#runtimeSource
    // No interceptor and no earlier turn of this source pending: the step runs now, in arrival order, with no
    // turn taken (the common case, and the hot path: no promise per publish).
    if (this.#interceptors.size === 0 && !this.#turns.busy(source)) { this.#afterInterceptors(client, packet, cb); return }
    const intercepted = this.#interceptors.size === 0 ? undefined : this.#runInterceptors({ topic: packet.topic, payload, qos: packet.qos, retain: packet.retain === true, origin: client?.id })
    const { before, release } = this.#turns.take(source)
    const go = (err: unknown): void => {
      try {
        if (err !== undefined) { cb(err as Error); return }
        this.#afterInterceptors(client, packet, cb)
      } finally {
        release()
      }
    }
    if (intercepted === undefined && before === undefined) { go(undefined); return }
    Promise.allSettled([intercepted, before]).then(([r]) => { go(r.status === 'rejected' ? (r.reason ?? new Error('interceptor failed')) : undefined) }, go)
  }

  #afterInterceptors (client: any, packet: any, cb: (err: Error | null) => void): void {
    // QoS 1: stored in full now, before aedes' PUBACK (#persistBeforePuback). QoS 0 and 2: aedes goes on
    // synchronously inside cb, so its publish (QoS 0) or its incoming store (QoS 2) starts in turn too.
    if (packet.qos === 1 && client != null) this.#publishNow(packet, client, cb)
    else cb(null)
  }

  #authorizeSubscribe (client: any, sub: { topic: string; qos: number }): { topic: string; qos: number } | null {
    if (this.#internal.has(client?.conn) || this.#acl.allows({ username: client?._mechaUser, clientId: client?.id }, 'subscribe', sub.topic)) return sub
    // Denied: SUBACK 0x80 for this filter, the connection stays up [MQTT-3.9.3].
    this.#reject('acl', client?.id, `subscribe to ${sub.topic}`)
    return null
  }

  async #runInterceptors (msg: BusMessage): Promise<void> {
    for (const fn of this.#interceptors) {
      try {
        await fn(msg)
      } catch (err) {
        this.#reject('interceptor', msg.origin, (err as Error).message)
        throw err
      }
    }
  }

  /**
   * Applies changed users, ACL and limits (hot reload) without dropping anyone else: new connections and
   * every later publish and subscribe see them at once; a client whose user was removed or given a new
   * password is disconnected. The listen address and session expiry are bound at start (a restart applies them).
   */
  reconfigure (next: MqttConfig): void {
    const prevUsers = this.#users
    this.#config = next
    this.#acl = new Acl(next.acl)
    this.#users = new Map(next.users.map((u) => [u.username, u.password]))
    this.#aedes.connectTimeout = next.connectTimeoutMs
    this.#aedes.maxInflightInbound = next.maxInflight
    for (const client of Object.values(this.#aedes.clients) as any[]) {
      const user: string | undefined = client._mechaUser
      if (user === undefined || this.#internal.has(client.conn)) continue
      if (this.#users.get(user) !== prevUsers.get(user)) {
        this.#log.info({ clientId: client.id, user }, 'mqtt client disconnected: its user was removed or changed')
        client.close()
      }
    }
  }

  // --- LocalBus

  async publish (msg: BusMessage): Promise<void> {
    if (this.#closed) throw new MechaError('MECHA_ERR_NOT_READY', 'broker is closed')
    await this.#runInterceptors(msg)
    await new Promise<void>((resolve, reject) => {
      this.#aedes.publish({ cmd: 'publish', topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, dup: false }, (err?: Error) => {
        if (err != null) reject(err); else resolve()
      })
    })
  }

  async subscribe (filter: string, handler: BusHandler): Promise<() => Promise<void>> {
    const deliver = (packet: any, cb: () => void): void => {
      const msg: BusMessage = { topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload ?? ''), qos: packet.qos, retain: packet.retain === true }
      Promise.resolve().then(() => handler(msg)).catch((err) => { this.#log.error({ err, topic: msg.topic }, 'bus handler failed') }).finally(cb)
    }
    await new Promise<void>((resolve) => this.#aedes.subscribe(filter, deliver, resolve))
    return async () => { await new Promise<void>((resolve) => this.#aedes.unsubscribe(filter, deliver, resolve)) }
  }

  intercept (fn: PublishInterceptor): () => void {
    this.#interceptors.add(fn)
    return () => { this.#interceptors.delete(fn) }
  }

  // --- listeners

  /** Serves one MQTT connection on any duplex stream (a TCP socket, a WebSocket stream). */
  handle (stream: Duplex, counted?: Counted): void {
    if (counted !== undefined) {
      this.#live.add(counted)
      stream.once('close', () => {
        this.#live.delete(counted)
        this.#closedBytes.read += counted.bytesRead
        this.#closedBytes.written += counted.bytesWritten
      })
    }
    coalesceWrites(stream)
    this.#aedes.handle(stream)
  }

  /**
   * A trusted in-process MQTT connection for the runtime's own clients (e.g. a subscription's persistent
   * session): hand the returned stream to MQTT.js. No socket, no users or ACL; payload limits still apply.
   */
  connectInternal (): Duplex {
    const [ours, theirs] = duplexPair()
    this.#internal.add(ours)
    coalesceWrites(ours)
    this.#aedes.handle(ours)
    return theirs
  }

  async listen (): Promise<{ host: string; port: number }> {
    const server = createServer((socket: Socket) => { this.handle(socket, socket) })
    this.#server = server
    return await listenOn(server, this.#config.host, this.#config.port, 'MQTT')
  }

  get address (): { host: string; port: number } | undefined {
    return this.#server === undefined ? undefined : addressOf(this.#server)
  }

  #sample (): { clients: number; bytesIn: number; bytesOut: number } {
    let bytesIn = this.#closedBytes.read; let bytesOut = this.#closedBytes.written
    for (const c of this.#live) { bytesIn += c.bytesRead; bytesOut += c.bytesWritten }
    return { clients: this.#aedes.connectedClients, bytesIn, bytesOut }
  }

  /** The connected MQTT clients (not the runtime's own sessions), for the admin API. */
  clients (): Array<{ id: string; username?: string; address?: string; connectedAt?: string; transport: 'tcp' | 'ws' }> {
    const out: Array<{ id: string; username?: string; address?: string; connectedAt?: string; transport: 'tcp' | 'ws' }> = []
    for (const c of Object.values(this.#aedes.clients) as any[]) {
      if (this.#internal.has(c.conn)) continue
      const sock = c.conn?.remoteAddress === undefined ? c.req?.socket : c.conn
      out.push({
        id: c.id,
        username: c._mechaUser,
        address: sock?.remoteAddress === undefined ? undefined : `${String(sock.remoteAddress)}:${String(sock.remotePort)}`,
        connectedAt: c._mechaConnectedAt,
        transport: c.conn?.remoteAddress === undefined ? 'ws' : 'tcp',
      })
    }
    return out
  }

  /** Disconnects one client (its persistent session stays); false when no such client is connected. */
  disconnectClient (id: string): boolean {
    const c = this.#aedes.clients[id]
    if (c === undefined || this.#internal.has(c.conn)) return false
    this.#log.info({ clientId: id }, 'mqtt client disconnected by the admin')
    c.close()
    return true
  }

  /** Plain figures for `/v1.0/metadata` and the UI. */
  stats (): { clients: number; messagesIn: number; messagesOut: number; rejected: number; bytesIn: number; bytesOut: number } {
    const s = this.#sample()
    return { clients: s.clients, ...this.metrics.counts, bytesIn: s.bytesIn, bytesOut: s.bytesOut }
  }

  /** Stops accepting, disconnects clients (their sessions stay in persistence), closes aedes. Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Stop accepting first; the server's close callback fires only once aedes has closed every client.
    const server = this.#server
    const serverClosed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    // No sweep from here on. Clients disconnected by the close below still get their offline time recorded
    // (the persistence, closed after the broker, waits for those writes).
    await this.#expiry?.close()
    await new Promise<void>((resolve) => this.#aedes.close(() => { resolve() }))
    await serverClosed
  }
}
