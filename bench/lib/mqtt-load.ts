/**
 * MQTT load for the broker benchmarks, the same code against every broker: P publishers → S subscribers on
 * one topic tree, a bounded count and a bounded time, a fixed window of publishes in flight, and the
 * publish-to-receive latency of every delivery (the send time travels in the first 8 bytes of the payload;
 * publishers and subscribers share this process and its clock).
 */
import { performance } from 'node:perf_hooks'
import mqtt, { type MqttClient } from 'mqtt'
import { sleep } from './child.ts'
import { percentile } from './proc.ts'

export async function connect (url: string, clientId: string, extra: Record<string, unknown> = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 60, ...extra })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { done(); client.end(true); reject(new Error(`connect ${clientId} to ${url} timed out`)) }, 12_000)
    const onConnect = (): void => { done(); resolve() }
    const onError = (err: Error): void => { done(); client.end(true); reject(err) }
    // Removed once connected: left in place, a later error (the broker down while a persistent consumer
    // reconnects) would end the client for good.
    const done = (): void => { clearTimeout(timer); client.off('connect', onConnect); client.off('error', onError) }
    client.once('connect', onConnect)
    client.once('error', onError)
  })
  client.on('error', () => {})
  // The harness must not add Nagle's delay to what it measures (the brokers keep their own defaults).
  const stream = client.stream as { setNoDelay?: (on: boolean) => void }
  stream.setNoDelay?.(true)
  return client
}

export interface LoadOptions {
  qos: 0 | 1
  payloadBytes: number
  publishers: number
  subscribers: number
  /** Deliveries to aim for (publishes = this / subscribers). */
  deliveries: number
  /** Publishing stops after this long even if the count is not reached. */
  maxMs: number
  /** Publishes in flight over all publishers. @default 100 */
  window?: number
  /**
   * Paced: publishes per second over all publishers, each sent at its due time (never more than the window in
   * flight). The latency then is the broker's at that rate, not queueing behind a full window.
   */
  ratePerSec?: number
}

export interface LoadResult {
  published: number
  delivered: number
  expected: number
  perSec: number
  p50: number
  p99: number
}

let runs = 0

export async function pubSubLoad (url: string, o: LoadOptions): Promise<LoadResult> {
  const run = `${process.pid}-${++runs}`
  const subs = await Promise.all(Array.from({ length: o.subscribers }, async (_, i) => await connect(url, `bs-${run}-${i}`)))
  const pubs = await Promise.all(Array.from({ length: o.publishers }, async (_, i) => await connect(url, `bp-${run}-${i}`)))
  const lat: number[] = []
  let delivered = 0
  let lastAt = 0
  for (const s of subs) {
    s.on('message', (_t, payload) => {
      const now = performance.now()
      lat.push(now - payload.readDoubleLE(0))
      delivered++
      lastAt = now
    })
    await s.subscribeAsync(`bench/${run}/#`, { qos: o.qos })
  }
  const template = Buffer.alloc(Math.max(8, o.payloadBytes), 0x61)
  const quota = Math.ceil(o.deliveries / o.subscribers / o.publishers)
  const perPubWindow = Math.max(4, Math.floor((o.window ?? 100) / o.publishers))
  let published = 0
  const t0 = performance.now()
  const stopAt = t0 + o.maxMs
  const publishOne = async (pub: MqttClient, p: number): Promise<void> => {
    const payload = Buffer.from(template)
    payload.writeDoubleLE(performance.now(), 0)
    await pub.publishAsync(`bench/${run}/${p}`, payload, { qos: o.qos })
    published++
  }
  await Promise.all(pubs.map(async (pub, p) => {
    if (o.ratePerSec !== undefined) {
      // Message k of this publisher is due at t0 + k / (its share of the rate); what is due goes at once (the
      // timers' ~1 ms granularity), and the oldest publish is awaited when the window is full.
      const intervalMs = 1000 * o.publishers / o.ratePerSec
      const inFlight: Array<Promise<void>> = []
      for (let k = 0; k < quota && performance.now() < stopAt; k++) {
        const wait = t0 + k * intervalMs - performance.now()
        if (wait >= 1) await sleep(wait)
        if (inFlight.length >= perPubWindow) await inFlight.shift()
        const sent = publishOne(pub, p)
        // Awaited later (window or the end); marked handled now so a failure is reported there, not as an
        // unhandled rejection that ends the benchmark process first.
        sent.catch(() => {})
        inFlight.push(sent)
      }
      await Promise.all(inFlight)
      return
    }
    let next = 0
    await Promise.all(Array.from({ length: perPubWindow }, async () => {
      while (next < quota && performance.now() < stopAt) {
        next++
        await publishOne(pub, p)
      }
    }))
  }))
  const expected = published * o.subscribers
  // Deliveries still on their way: bounded wait, then count what arrived.
  const drainUntil = performance.now() + Math.max(5000, o.maxMs)
  while (delivered < expected && performance.now() < drainUntil) await sleep(5)
  const secs = ((delivered >= expected ? lastAt : performance.now()) - t0) / 1000
  await Promise.all([...pubs, ...subs].map(async (c) => { await c.endAsync(true).catch(() => {}) }))
  lat.sort((a, b) => a - b)
  return { published, delivered, expected, perSec: delivered / secs, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) }
}

/** Connects `n` idle clients, `batch` at a time; returns them (close with `closeAll`). */
export async function connectIdle (url: string, n: number, tag: string, batch = 50): Promise<MqttClient[]> {
  const out: MqttClient[] = []
  for (let i = 0; i < n; i += batch) {
    out.push(...await Promise.all(Array.from({ length: Math.min(batch, n - i) }, async (_, k) => await connect(url, `idle-${tag}-${i + k}`, { keepalive: 600 }))))
  }
  return out
}

export async function closeAll (clients: MqttClient[]): Promise<void> {
  await Promise.all(clients.map(async (c) => { await c.endAsync(true).catch(() => {}) }))
}
