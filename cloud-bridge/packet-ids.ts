/**
 * Packet identifiers on the cloud connection are split in two ranges: MQTT.js allocates the low one for what
 * it still sends itself (subscriptions, shadow-sync publishes, QoS 2), the sender's raw QoS 1 publishes use the
 * high one. A packet id must not be reused while its exchange is open (MQTT 5 §2.2.1); two allocators sharing one
 * space without knowing of each other could do exactly that.
 */
import type { IClientOptions } from 'mqtt'

type IMessageIdProvider = NonNullable<IClientOptions['messageIdProvider']>

/** MQTT.js's ids: 1 … MQTTJS_LAST_ID. */
export const MQTTJS_LAST_ID = 1023
/** The sender's ids: SENDER_FIRST_ID … 65535. */
export const SENDER_FIRST_ID = MQTTJS_LAST_ID + 1
export const SENDER_ID_COUNT = 0xffff - SENDER_FIRST_ID + 1

/** Ids `first` … `last`, handed out round-robin, never one still in use. */
export class RangeIds {
  readonly #first: number
  readonly #last: number
  readonly #used = new Set<number>()
  #next: number

  constructor (first: number, last: number) {
    this.#first = first
    this.#last = last
    this.#next = first
  }

  get inUse (): number { return this.#used.size }

  /** A free id, or undefined when all are in use. */
  take (): number | undefined {
    const size = this.#last - this.#first + 1
    if (this.#used.size >= size) return undefined
    for (;;) {
      const id = this.#next
      this.#next = id === this.#last ? this.#first : id + 1
      if (!this.#used.has(id)) { this.#used.add(id); return id }
    }
  }

  /** Marks an id used (false when it already was, or is out of range). */
  claim (id: number): boolean {
    if (id < this.#first || id > this.#last || this.#used.has(id)) return false
    this.#used.add(id)
    return true
  }

  release (id: number): void { this.#used.delete(id) }
  clear (): void { this.#used.clear() }
}

/** MQTT.js's `messageIdProvider`, kept to the low range. */
export class MqttJsIds implements IMessageIdProvider {
  readonly #ids = new RangeIds(1, MQTTJS_LAST_ID)
  #last: number | null = null

  allocate (): number | null {
    const id = this.#ids.take()
    if (id === undefined) return null
    this.#last = id
    return id
  }

  getLastAllocated (): number | null { return this.#last }
  register (id: number): boolean { return this.#ids.claim(id) }
  deallocate (id: number): void { this.#ids.release(id) }
  clear (): void { this.#ids.clear() }
}
