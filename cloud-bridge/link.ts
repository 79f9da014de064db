/**
 * The connection to the cloud broker: one MQTT.js client per attempt, with MQTT.js's own reconnect turned off
 * (it retries on a fixed period and replays its in-memory queue — CONVENTIONS 6); we retry with
 * decorrelated-jitter backoff through the URL list, and the outbox, not MQTT.js, holds what must be resent.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt'
import type { Clock } from '../core/clock.ts'
import type { Logger } from '../core/logger.ts'
import type { CloudConfig } from '../core/config/cloud-schema.ts'
import { Backoff } from '../core/backoff.ts'
import type { DelayFn } from './backoff.ts'
import type { CloudStatus, StatusStream } from './status.ts'
import type { TlsFiles } from './tls-files.ts'
import { MqttJsIds } from './packet-ids.ts'

export interface LinkOptions {
  config: CloudConfig
  clientId: string
  clock: Clock
  log: Logger
  delay: DelayFn
  status: StatusStream<CloudStatus>
  tls: TlsFiles
  /** The client is connected (CONNACK accepted); `receiveMaximum` is the broker's limit of in-flight QoS>0 publishes. */
  onConnected: (client: MqttClient, info: { url: string; receiveMaximum: number }) => void
  onDisconnected: () => void
  /** A message from the cloud; its PUBACK is sent only once the returned promise settles. */
  onMessage: (topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean) => Promise<void>
}

const noop = (): void => {}

// MQTT 5 CONNACK reason codes (MQTT 5 §3.2.2.2) and 3.1.1 return codes (§3.2.2.3), for readable reports.
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version', 2: 'identifier rejected', 3: 'server unavailable', 4: 'bad user name or password', 5: 'not authorized',
  128: 'unspecified error', 129: 'malformed packet', 130: 'protocol error', 131: 'implementation specific error', 132: 'unsupported protocol version',
  133: 'client identifier not valid', 134: 'bad user name or password', 135: 'not authorized', 136: 'server unavailable', 137: 'server busy',
  138: 'banned', 140: 'bad authentication method', 144: 'topic name invalid', 149: 'packet too large', 151: 'quota exceeded',
  153: 'payload format invalid', 154: 'retain not supported', 155: 'QoS not supported', 156: 'use another server', 157: 'server moved', 159: 'connection rate exceeded',
}

export class Link {
  readonly #o: LinkOptions
  readonly #urls: string[]
  #client: MqttClient | undefined
  #connected = false
  #urlIndex = 0
  readonly #backoff: Backoff
  #timer: unknown
  #closed = false
  #lastError: { reason: string; code?: number } | undefined

  constructor (o: LinkOptions) {
    this.#o = o
    this.#backoff = new Backoff(o.delay)
    this.#urls = [o.config.url, ...o.config.fallbackUrls]
  }

  get connected (): boolean { return this.#connected }
  get url (): string | undefined { return this.#connected ? this.#urls[this.#urlIndex] : undefined }

  start (): void { this.#connect() }

  /** Drops the current connection (if any) and connects again at once, e.g. after the TLS files changed. */
  reconnect (reason: string): void {
    if (this.#closed) return
    this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    const client = this.#client
    if (client === undefined) { this.#connect(); return }
    this.#lastError = { reason }
    this.#backoff.reset()
    this.#drop(client, true)
  }

  #connect (): void {
    if (this.#closed) return
    this.#timer = undefined
    const url = this.#urls[this.#urlIndex]
    const cfg = this.#o.config
    this.#o.status.emit({ type: 'connecting', url, attempt: this.#backoff.attempt + 1, at: this.#o.clock.now() })
    const tls = this.#o.tls.current
    const opts: IClientOptions = {
      protocolVersion: cfg.protocolVersion,
      clientId: this.#o.clientId,
      clean: cfg.cleanStart,
      keepalive: cfg.keepalive,
      connectTimeout: cfg.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      // The sender's QoS 1 publishes bring their own packet ids (raw-publisher.ts): MQTT.js keeps to the rest.
      messageIdProvider: new MqttJsIds(),
      // MQTT.js calls its `debug` logger several times per publish; that cost shows up in every forwarded
      // message even with debug output off. Keep it only when someone asked for debug output.
      ...(process.env.DEBUG === undefined || process.env.DEBUG === '' ? { log: noop } : {}),
      rejectUnauthorized: cfg.rejectUnauthorized,
      ...(cfg.username === undefined ? {} : { username: cfg.username }),
      ...(cfg.password === undefined ? {} : { password: cfg.password }),
      ...(cfg.servername === undefined ? {} : { servername: cfg.servername }),
      ...tls,
    }
    this.#lastError = undefined
    let client: MqttClient
    try {
      client = connect(url, opts)
    } catch (err) {
      this.#lastError = { reason: (err as Error).message }
      this.#retry(false)
      return
    }
    this.#client = client
    let wasConnected = false
    client.on('connect', (connack) => {
      if (this.#client !== client) return
      wasConnected = true
      this.#connected = true
      this.#backoff.reset()
      this.#o.status.emit({ type: 'connected', url, protocolVersion: cfg.protocolVersion, at: this.#o.clock.now() })
      const receiveMaximum = connack.properties?.receiveMaximum ?? 65535
      this.#o.onConnected(client, { url, receiveMaximum })
    })
    client.on('error', (err: Error & { code?: unknown }) => {
      const code = typeof err.code === 'number' ? err.code : undefined
      const reason = code !== undefined ? `connection refused: ${CONNACK_REASONS[code] ?? err.message} (${code})` : err.message
      this.#lastError = code !== undefined ? { reason, code } : { reason }
    })
    client.on('disconnect', (packet) => {
      const code = packet.reasonCode
      this.#lastError = { reason: `disconnected by the broker: ${CONNACK_REASONS[code ?? 0] ?? 'normal'}`, ...(code === undefined ? {} : { code }) }
    })
    // MQTT.js acknowledges an incoming publish when handleMessage calls back: only after the local bus took it.
    client.handleMessage = (packet, done) => {
      if (this.#client !== client) { done(); return }
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
      this.#o.onMessage(packet.topic, payload, packet.qos, packet.retain).then(() => { done() }, (err: Error) => {
        this.#o.log.warn({ err, topic: packet.topic }, 'message from the cloud not taken by the local bus')
        done()
      })
    }
    client.on('close', () => {
      if (this.#client !== client) return
      this.#drop(client, wasConnected)
    })
  }

  #drop (client: MqttClient, wasConnected: boolean): void {
    this.#client = undefined
    const url = this.#urls[this.#urlIndex]
    if (this.#connected) { this.#connected = false; this.#o.onDisconnected() }
    // (Our 'close' listener ignores it now that it is no longer #client; MQTT.js's own must stay: it clears timers.)
    client.on('error', () => {}) // late socket errors of a client we gave up on
    client.end(true)
    const reason = this.#lastError?.reason ?? 'connection closed'
    const code = this.#lastError?.code
    this.#o.log.warn({ url, reason, code }, 'cloud link down')
    this.#o.status.emit({ type: 'disconnected', reason, ...(code === undefined ? {} : { code }), url, at: this.#o.clock.now() })
    this.#retry(wasConnected)
  }

  #retry (wasConnected: boolean): void {
    if (this.#closed) return
    // After a working connection dropped, try the primary again; after a failed attempt, the next URL.
    this.#urlIndex = wasConnected ? 0 : (this.#urlIndex + 1) % this.#urls.length
    const delayMs = this.#backoff.next()
    const now = this.#o.clock.now()
    this.#o.status.emit({ type: 'backoff', attempt: this.#backoff.attempt, delayMs, nextAttemptAt: now + delayMs, at: now })
    this.#timer = this.#o.clock.setTimeout(() => { this.#connect() }, delayMs)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#o.clock.clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    if (this.#connected) { this.#connected = false; this.#o.onDisconnected() }
    if (client !== undefined) {
      client.on('error', () => {})
      // A clean DISCONNECT when we can, bounded so a dead link cannot hold up shutdown.
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { client.end(true); resolve() }, 1000)
        client.end(false, {}, () => { clearTimeout(t); resolve() })
      })
    }
  }
}
