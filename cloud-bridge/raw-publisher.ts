/**
 * The sender's way onto one cloud connection. QoS 1 publishes are written as pre-encoded packets
 * (`publish-packet.ts`) straight to MQTT.js's socket, with our own packet ids (`packet-ids.ts`, the range
 * MQTT.js does not use) and our own PUBACK matching (MQTT.js's `packetreceive` event; MQTT.js itself ignores
 * acks for ids it did not send). MQTT.js stays in charge of everything else on the connection: CONNECT,
 * keepalive, subscriptions, incoming messages, QoS 0 and QoS 2 publishes.
 *
 * Why: per publish, MQTT.js builds a packet object, stores it in its outgoing store, allocates an id, and
 * mqtt-packet writes the packet field by field as separate chunks. For the bridge that was a large share of the
 * CPU a forwarded message costs; and the outbox already keeps what must be resent, so MQTT.js's store held a
 * second copy for nothing.
 */
import { ReasonCodes, type IClientPublishOptions, type MqttClient } from 'mqtt'
import { encodePublish, type PublishProperties } from './publish-packet.ts'
import { RangeIds, SENDER_FIRST_ID } from './packet-ids.ts'

export type PublishCallback = (err?: Error) => void

/** What the sender publishes through: MQTT.js's client itself fits, and so does `RawPublisher`. */
export interface PublishChannel {
  publish: (topic: string, payload: Buffer, opts: IClientPublishOptions, cb: PublishCallback) => unknown
}

/** A PUBACK with a reason code that is not a success (MQTT 5 §3.4.2.1), as MQTT.js reports one. */
export class PublishRefused extends Error {
  readonly code: number
  constructor (code: number) {
    // The same message MQTT.js gives, so dead letters read the same whichever path sent the publish.
    super(`Publish error: ${(ReasonCodes as Record<number, string>)[code] ?? `reason code 0x${code.toString(16)}`}`)
    this.code = code
  }
}

interface Writable {
  write: (chunk: Buffer) => boolean
  cork?: () => void
  uncork?: () => void
}

export class RawPublisher implements PublishChannel {
  readonly #client: MqttClient
  readonly #stream: Writable
  readonly #v: 4 | 5
  readonly #ids = new RangeIds(SENDER_FIRST_ID, 0xffff)
  readonly #pending = new Map<number, PublishCallback>()
  readonly #onPacket: (packet: { cmd: string; messageId?: number; reasonCode?: number }) => void
  #corked = false
  #closed = false

  constructor (client: MqttClient, protocolVersion: 4 | 5) {
    this.#client = client
    this.#stream = client.stream as unknown as Writable
    this.#v = protocolVersion
    this.#onPacket = (packet) => {
      if (packet.cmd !== 'puback' || packet.messageId === undefined) return
      const cb = this.#pending.get(packet.messageId)
      if (cb === undefined) return
      this.#pending.delete(packet.messageId)
      this.#ids.release(packet.messageId)
      const rc = packet.reasonCode ?? 0
      // 0x00 success, 0x10 no matching subscribers (still accepted); everything else is not a delivery.
      cb(rc === 0 || rc === 0x10 ? undefined : new PublishRefused(rc))
    }
    client.on('packetreceive', this.#onPacket)
  }

  /** Publishes without an acknowledgement yet. */
  get pending (): number { return this.#pending.size }

  publish (topic: string, payload: Buffer, opts: IClientPublishOptions, cb: PublishCallback): void {
    const id = opts.qos === 1 && !this.#closed ? this.#ids.take() : undefined
    if (id === undefined) { this.#client.publish(topic, payload, opts, cb); return }
    const properties = opts.properties as PublishProperties | undefined
    const packet = encodePublish(this.#v, { topic, payload, qos: 1, retain: opts.retain === true, messageId: id, ...(properties === undefined ? {} : { properties }) })
    this.#pending.set(id, cb)
    // Everything published in one turn leaves in one writev (mqtt-packet corks the same way).
    if (!this.#corked && this.#stream.cork !== undefined) {
      this.#corked = true
      this.#stream.cork()
      process.nextTick(() => { this.#corked = false; this.#stream.uncork?.() })
    }
    this.#stream.write(packet)
  }

  /** The connection is gone: forget what was pending (the outbox sends it again on the next one). */
  close (): void {
    this.#closed = true
    this.#client.off('packetreceive', this.#onPacket)
    this.#pending.clear()
    this.#ids.clear()
  }
}
