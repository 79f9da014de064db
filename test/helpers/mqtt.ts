import { once, type EventEmitter } from 'node:events'
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt'

/** `events.once` for MQTT.js clients, whose typed emitter does not satisfy node's overloads. */
export function onceOn (emitter: unknown, name: string): Promise<unknown[]> {
  return once(emitter as EventEmitter, name)
}

export interface Received { topic: string; payload: string; retain: boolean; qos: number; packet: IPublishPacket }

export async function awaitConnack (client: MqttClient): Promise<MqttClient> {
  try {
    await Promise.race([
      onceOn(client, 'connect'),
      onceOn(client, 'error').then(([err]) => { throw err }),
      onceOn(client, 'close').then(() => { throw new Error('closed before CONNACK') }),
    ])
  } catch (err) {
    client.end(true)
    throw err
  }
  return client
}

const clientOptions = (opts: IClientOptions): IClientOptions => ({ reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts })

/**
 * Connects an MQTT.js client and waits for CONNACK (rejects with the CONNACK error, no reconnect loop).
 * Do not use it to resume a persistent session that may hold queued messages, nor for anything a listener
 * attached afterwards must see: MQTT.js handles the packets that came in the same socket read as the CONNACK
 * in a `process.nextTick` chain, which runs (and PUBACKs them) before this promise's continuation — messages
 * lost to the caller (issue 9: `got 185 of 201`, 16 PUBLISHes in CONNACK's read). Use `connectCollecting`.
 */
export async function connect (url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return await awaitConnack(mqtt.connect(url, clientOptions(opts)))
}

/**
 * Records every message a client receives from the moment it is made; waits on what has been recorded (those
 * before the wait count too), so no message can slip between "connected" and "now listening".
 */
export class Collector {
  readonly messages: Received[] = []
  readonly #client: MqttClient
  readonly #waiters = new Set<() => void>()
  readonly #on = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
    this.messages.push({ topic, payload: payload.toString(), retain: packet.retain === true, qos: packet.qos, packet })
    for (const w of [...this.#waiters]) w()
  }

  constructor (client: MqttClient) {
    this.#client = client
    client.on('message', this.#on)
  }

  /**
   * Calls `check` once for every message, in arrival order (those already recorded first), until it returns
   * true; rejects after `timeoutMs` with `describe()`'s text.
   */
  until (check: (m: Received, index: number) => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    let next = 0
    return new Promise((resolve, reject) => {
      const drain = (): void => {
        while (next < this.messages.length) {
          const i = next++
          if (check(this.messages[i], i)) { clearTimeout(timer); this.#waiters.delete(drain); resolve(); return }
        }
      }
      const timer = setTimeout(() => { this.#waiters.delete(drain); reject(new Error(describe())) }, timeoutMs)
      this.#waiters.add(drain)
      drain()
    })
  }

  /** The first `count` messages, once they arrived (rejects `got N of M messages` after `timeoutMs`). */
  async waitFor (count: number, timeoutMs = 10000): Promise<Received[]> {
    await this.until((_m, i) => i + 1 >= count, timeoutMs, () => `got ${this.messages.length} of ${count} messages`)
    return this.messages.slice(0, count)
  }

  /** Stops recording (what was recorded stays). */
  stop (): void { this.#client.off('message', this.#on) }
}

/**
 * Connects with a Collector on the client before the CONNECT is sent, so messages queued for a persistent
 * session (or anything that arrives with the CONNACK) are all recorded; then waits for CONNACK as `connect`.
 */
export async function connectCollecting (url: string, opts: IClientOptions = {}): Promise<{ client: MqttClient; messages: Collector }> {
  // mqtt.connect() only opens the socket; no packet can be handled before this synchronous code returns.
  const client = mqtt.connect(url, clientOptions(opts))
  const messages = new Collector(client)
  await awaitConnack(client)
  return { client, messages }
}

/**
 * Collects messages on a client until `count` arrived or the timeout passed. Only what arrives after this call:
 * call it before the subscribe or publish that causes the messages (never after `connect` for queued ones).
 */
export async function collect (client: MqttClient, count: number, timeoutMs = 10000): Promise<Received[]> {
  const c = new Collector(client)
  try { return await c.waitFor(count, timeoutMs) } finally { c.stop() }
}

export async function closeAll (...clients: Array<MqttClient | undefined>): Promise<void> {
  await Promise.all(clients.map((c) => (c === undefined ? undefined : c.endAsync(true).catch(() => {}))))
}
