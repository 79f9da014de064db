/**
 * One subscription's persistent MQTT session on the embedded broker (MQTT.js over a trusted in-process
 * stream). CleanSession 0 [MQTT-3.1.2-4]: while it is disconnected the broker keeps the subscription and
 * queues QoS 1 messages in its LevelDB persistence, and on reconnect it resends what was never acknowledged
 * [MQTT-4.4.0-1] before the queued ones. A message is PUBACKed only once the subscriber settled it
 * (delivered, dropped or dead-lettered), and PUBACKs go out in the order the messages arrived [MQTT-4.6.0-2],
 * even when several are in flight (`window` > 1: concurrency, or a bulk batch).
 */
import type { Duplex } from 'node:stream'
import { MechaError } from '../../core/errors.ts'
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'
import type { Logger } from '../../core/logger.ts'

export interface SessionMessage {
  topic: string
  payload: Buffer
  /** Done with it: the PUBACK may go out (in arrival order). No effect once the session closed. */
  settle(): void
}

export interface SessionOptions {
  /** Opens a trusted stream to the broker (MqttBroker.connectInternal). */
  connect: () => Duplex
  clientId: string
  filter: string
  /** Messages handed out and not yet settled, at most. */
  window: number
  onMessage: (msg: SessionMessage) => void
  log: Logger
}

interface Pending { messageId: number | undefined; settled: boolean }

/** Stops MQTT.js from sending its own PUBACK after handleMessage: we send it when the message is settled. */
const DEFERRED = new Error('puback deferred')

type SendPacket = (packet: object, cb?: () => void) => void

/**
 * The deferred PUBACK leans on two MQTT.js internals (mqtt 5.x, `lib/handlers/publish.ts`): for a QoS 1
 * PUBLISH it calls `client.handleMessage(packet, cb)` and sends the PUBACK through `client._sendPacket` only
 * when `cb` gets no error; we send it later through that same `_sendPacket`, as MQTT.js has no public call
 * for it. Should an upgrade rename or drop either, every message would stay unacknowledged and come back on
 * each reconnect, with nothing in the logs. So this is checked before any session opens, and the runtime
 * refuses to start with an error that says what changed. `proto` is for tests.
 */
export function assertMqttInternals (proto: object = mqtt.MqttClient.prototype): void {
  const p = proto as Record<string, unknown>
  const missing = ['_sendPacket', 'handleMessage'].filter((name) => typeof p[name] !== 'function')
  if (missing.length > 0) {
    throw new MechaError('MECHA_ERR_DEPENDENCY', `the installed MQTT.js no longer has ${missing.map((m) => `MqttClient.prototype.${m}()`).join(' and ')}, which the subscription sessions use to acknowledge a message only once it is delivered (edge/pubsub/session.ts); pin mqtt to a 5.x release that has it, or port the deferred PUBACK`)
  }
}

function onceConnected (client: MqttClient): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => { client.off('connect', onConnect); client.off('error', onError); client.off('close', onClose) }
    const onConnect = (p: { sessionPresent?: boolean }): void => { cleanup(); resolve(p.sessionPresent === true) }
    const onError = (err: Error): void => { cleanup(); reject(err) }
    const onClose = (): void => { cleanup(); reject(new Error('closed before CONNACK')) }
    client.on('connect', onConnect); client.on('error', onError); client.on('close', onClose)
  })
}

function newClient (connect: () => Duplex, clientId: string, clean: boolean): MqttClient {
  return new mqtt.MqttClient(() => connect() as never, {
    clientId,
    clean,
    protocolVersion: 4,
    // In-process stream: nothing to keep alive, and a session that waits on a slow app must not time out.
    keepalive: 0,
    // One connection per open(); the owner reopens (the app came back), never MQTT.js on its own timer.
    reconnectPeriod: 0,
    resubscribe: false,
    connectTimeout: 10_000,
  })
}

export class MqttSession {
  readonly #client: MqttClient
  readonly #opts: SessionOptions
  readonly #pending: Pending[] = []
  #inFlight = 0
  #waiting: Array<() => void> = []
  #closed = false

  private constructor (client: MqttClient, opts: SessionOptions) {
    this.#client = client
    this.#opts = opts
  }

  /** Connects with CleanSession 0 and subscribes at QoS 1 unless the broker still holds the session. */
  static async open (opts: SessionOptions): Promise<MqttSession> {
    const client = newClient(opts.connect, opts.clientId, false)
    const session = new MqttSession(client, opts)
    client.handleMessage = (packet, cb) => { session.#handle(packet, cb) }
    client.on('error', (err) => { opts.log.debug({ clientId: opts.clientId, err: err.message }, 'subscription session error') })
    client.on('close', () => { session.#closed = true; session.#release() })
    try {
      const present = await onceConnected(client)
      if (!present) await client.subscribeAsync(opts.filter, { qos: 1 })
    } catch (err) {
      await session.close()
      throw err
    }
    return session
  }

  /** Ends a session for good (CleanSession 1 discards it [MQTT-3.1.2-6]): nothing more is queued for it. */
  static async discard (connect: () => Duplex, clientId: string): Promise<void> {
    const client = newClient(connect, clientId, true)
    // aedes drops the subscriptions before the CONNACK, so nothing queues from then on; the queued messages
    // it deletes after the CONNACK, asynchronously, and that goes on after we disconnect.
    try { await onceConnected(client) } finally { await client.endAsync(false).catch(() => {}) }
  }

  get closed (): boolean { return this.#closed }

  #handle (packet: IPublishPacket, cb: (err?: Error) => void): void {
    if (this.#closed) return
    const run = (): void => {
      if (this.#closed) return
      const entry: Pending = { messageId: packet.qos > 0 ? packet.messageId : undefined, settled: false }
      this.#pending.push(entry)
      this.#inFlight++
      let settled = false
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
      // Next packet may be read now; this one's PUBACK waits for settle().
      cb(DEFERRED)
      this.#opts.onMessage({
        topic: packet.topic,
        payload,
        settle: () => {
          if (settled) return
          settled = true
          entry.settled = true
          this.#inFlight--
          this.#flushAcks()
          this.#waiting.shift()?.()
        },
      })
    }
    // The window is full: hold this packet (and so the stream) until a slot frees — backpressure on the broker.
    if (this.#inFlight >= this.#opts.window) this.#waiting.push(run)
    else run()
  }

  #flushAcks (): void {
    while (this.#pending.length > 0 && this.#pending[0].settled) {
      const { messageId } = this.#pending.shift()!
      if (messageId === undefined || this.#closed) continue
      // MQTT.js has no public call for a PUBACK; its own handler uses _sendPacket the same way
      // (checked at startup by assertMqttInternals).
      ;(this.#client as unknown as { _sendPacket: SendPacket })._sendPacket({ cmd: 'puback', messageId })
    }
  }

  #release (): void {
    this.#waiting = []
  }

  /** Disconnects, keeping the session (and its queue) in the broker; unsettled messages are resent on the next open. Idempotent. */
  async close (): Promise<void> {
    this.#closed = true
    this.#release()
    // Not forced: PUBACKs already written go out before the DISCONNECT, so settled messages are not resent.
    await this.#client.endAsync(false).catch(() => {})
  }
}
