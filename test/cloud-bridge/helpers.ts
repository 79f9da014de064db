/** Shared pieces of the cloud-bridge tests: a cloud subscriber that records what arrives, waits, loggers. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { createLogger, type Logger } from '../../core/logger.ts'

export interface Received { topic: string; payload: Buffer; id: string | undefined; retain: boolean; qos: number }

/** A logger that prints only when MECHA_TEST_LOG is set (e.g. `MECHA_TEST_LOG=debug`). */
export function testLogger (): Logger {
  const level = (process.env.MECHA_TEST_LOG ?? 'silent') as 'silent'
  return createLogger({ level, pretty: false })
}

export async function waitFor (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Connects and waits for CONNACK; rejects on refusal; no reconnects unless asked. `attach` runs before any
 * packet is read: MQTT.js emits the messages that share CONNACK's socket read before the awaiting code resumes,
 * so a listener for a persistent session's queue must be on by then (issue 9).
 */
export async function connectClient (url: string, opts: IClientOptions = {}, attach?: (client: MqttClient) => void): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
  attach?.(client)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`connect to ${url} timed out`)) }, 8000)
    client.once('connect', () => { clearTimeout(timer); resolve() })
    client.once('error', (err) => { clearTimeout(timer); reject(err) })
  })
  return client
}

/** A subscriber on the cloud broker that records every message (MQTT 5, so `mecha-id` is visible). */
export class CloudSubscriber {
  readonly received: Received[] = []
  client!: MqttClient
  // Kept as messages arrive: recomputing it on every poll of a wait made long runs quadratic (and the bench
  // measured its own harness).
  readonly #ids = new Set<string>()

  static async create (url: string, filter: string, opts: IClientOptions = {}): Promise<CloudSubscriber> {
    const sub = new CloudSubscriber()
    // Recording from before CONNECT: a persistent session (`clean: false`) may hold a queue for it.
    sub.client = await connectClient(url, { protocolVersion: 5, ...opts }, (client) => {
      client.on('message', (topic, payload, packet) => {
        const id = packet.properties?.userProperties?.['mecha-id']
        const r: Received = { topic, payload: Buffer.from(payload), id: Array.isArray(id) ? id[0] : id, retain: packet.retain, qos: packet.qos }
        sub.received.push(r)
        sub.#ids.add(r.id ?? r.payload.toString())
      })
    })
    await sub.client.subscribeAsync(filter, { qos: 1 })
    return sub
  }

  /** Distinct ids received. */
  distinct (): number { return this.#ids.size }

  /** Duplicates (same id more than once). */
  duplicates (): number { return this.received.length - this.distinct() }

  /** Checks that for each topic the first occurrences of the payload counters come in increasing order. */
  orderViolations (counter: (r: Received) => number): number {
    const last = new Map<string, number>()
    const seen = new Set<string>()
    let bad = 0
    for (const r of this.received) {
      const key = r.id ?? r.payload.toString()
      if (seen.has(key)) continue // a duplicate of something already counted
      seen.add(key)
      const n = counter(r)
      if ((last.get(r.topic) ?? -1) >= n) bad++
      last.set(r.topic, n)
    }
    return bad
  }

  async close (): Promise<void> { await this.client.endAsync(true) }
}
