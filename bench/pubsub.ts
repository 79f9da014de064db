/**
 * Pub/sub benchmark, Mecha next to mosquitto in the same run:
 *   1. Dapr API publish → subscription → app (`POST /v1.0/publish` to a node:http subscriber app),
 *   2. plain MQTT publish (QoS 1) → subscription → app,
 *   3. the anchor: plain MQTT pub/sub at QoS 1 through a mosquitto started here,
 *   4. for reference, the same plain MQTT pub/sub through Mecha's broker.
 * Events/s from the first publish to the last delivery, and p50/p99 publish-to-delivery latency. The runtime,
 * the app and the clients share this process (one clock for latency); mosquitto runs as its own process.
 *   node --import tsx bench/pubsub.ts [--n 5000] [--concurrency 16]
 */
import { createServer, type Server } from 'node:http'
import { Agent, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import mqtt, { type MqttClient } from 'mqtt'
import { parseConfig } from '../core/config/index.ts'
import { createLogger } from '../core/logger.ts'
import { Runtime } from '../edge/runtime.ts'
import { Mosquitto } from '../test/helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../test/helpers/tmp.ts'

const arg = (name: string, def: string): number => { const i = process.argv.indexOf(`--${name}`); return Number(i >= 0 ? process.argv[i + 1] : def) }
const N = arg('n', '5000')
const CONC = arg('concurrency', '16')

interface Result { name: string; n: number; ms: number; lat: number[] }

function pct (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/** A subscriber app: records the latency of every event it gets (the publish time travels in the data). */
async function subscriberApp (): Promise<{ server: Server; port: number; expect: (n: number) => Promise<number[]> }> {
  let want = 0; let lat: number[] = []; let done: ((l: number[]) => void) | undefined
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url === '/dapr/subscribe') { res.writeHead(404).end(); return }
      const ce = JSON.parse(Buffer.concat(chunks).toString())
      lat.push(performance.now() - ce.data.t)
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}')
      if (lat.length === want) done?.(lat)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    server,
    port: (server.address() as AddressInfo).port,
    expect: (n) => { want = n; lat = []; return new Promise((resolve) => { done = resolve }) },
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: CONC })
function post (port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', reject)
    req.end(body)
  })
}

async function apiToApp (apiPort: number, app: Awaited<ReturnType<typeof subscriberApp>>, n: number, conc: number): Promise<Result> {
  const got = app.expect(n)
  const t0 = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const i = next++
      const status = await post(apiPort, '/v1.0/publish/pubsub/bench/api', JSON.stringify({ i, t: performance.now() }))
      if (status !== 204) throw new Error(`publish answered ${status}`)
    }
  }))
  const lat = await got
  return { name: `Mecha: API publish → app, ${conc} in flight`, n, ms: performance.now() - t0, lat }
}

async function connect (port: number, clientId: string): Promise<MqttClient> {
  return await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, protocolVersion: 4, reconnectPeriod: 0 })
}

async function mqttToApp (mqttPort: number, app: Awaited<ReturnType<typeof subscriberApp>>, n: number, conc: number): Promise<Result> {
  const pub = await connect(mqttPort, 'bench-pub')
  const got = app.expect(n)
  const t0 = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) { next++; await pub.publishAsync('bench/mqtt', JSON.stringify({ t: performance.now() }), { qos: 1 }) }
  }))
  const lat = await got
  const ms = performance.now() - t0
  await pub.endAsync()
  return { name: `Mecha: MQTT QoS 1 publish → app, ${conc} in flight`, n, ms, lat }
}

async function plainMqtt (name: string, port: number, n: number, conc: number): Promise<Result> {
  const sub = await connect(port, `bench-sub-${Math.random().toString(16).slice(2)}`)
  await sub.subscribeAsync('bench/plain', { qos: 1 })
  const pub = await connect(port, `bench-pub-${Math.random().toString(16).slice(2)}`)
  const lat: number[] = []
  const got = new Promise<void>((resolve) => { sub.on('message', (_t, p) => { lat.push(performance.now() - JSON.parse(p.toString()).t); if (lat.length === n) resolve() }) })
  const t0 = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) { next++; await pub.publishAsync('bench/plain', JSON.stringify({ t: performance.now() }), { qos: 1 }) }
  }))
  await got
  const ms = performance.now() - t0
  await Promise.all([pub.endAsync(), sub.endAsync()])
  return { name: `${name}, ${conc} in flight`, n, ms, lat }
}

async function main (): Promise<void> {
  const app = await subscriberApp()
  const { config } = await parseConfig({
    id: 'bench', dataDir: await tmpDir('bench-pubsub'), log: { level: 'error' },
    mqtt: { port: 0 }, api: { port: 0 }, ui: { enabled: false }, metrics: { enabled: false },
    apps: [{ id: 'sink', appPort: app.port }],
    subscriptions: [
      { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 'api' }, spec: { pubsubname: 'pubsub', topic: 'bench/api', route: '/api' } },
      { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 'mqtt' }, spec: { pubsubname: 'pubsub', topic: 'bench/mqtt', route: '/mqtt' } },
    ],
  })
  const rt = await Runtime.start({ config, log: createLogger({ level: 'error' }) })
  const mosq = await Mosquitto.start({ persistence: false })
  const results: Result[] = []
  try {
    while (!rt.subscriptions.appReady('sink')) await new Promise((resolve) => setTimeout(resolve, 20))
    // Throughput with CONC publishes in flight (a queue builds: latency is queueing), then latency at one in flight.
    for (const [n, conc] of [[N, CONC], [Math.ceil(N / 5), 1]]) {
      results.push(await plainMqtt('anchor: mosquitto MQTT QoS 1 pub → sub', mosq.port, n, conc))
      results.push(await apiToApp(rt.addresses.api!.port, app, n, conc))
      results.push(await mqttToApp(rt.addresses.mqtt!.port, app, n, conc))
      results.push(await plainMqtt('Mecha broker MQTT QoS 1 pub → sub', rt.addresses.mqtt!.port, n, conc))
    }
  } finally {
    await mosq.stop().catch(() => {})
    await rt.stop()
    app.server.close()
    agent.destroy()
    await cleanupTmp()
  }
  const rate = (r: Result): number => r.n / (r.ms / 1000)
  console.log(`node ${process.version}, ${process.arch}; mosquitto ${mosq.port > 0 ? 'as the anchor' : ''}`)
  console.log('| path | events | events/s | p50 ms | p99 ms | events/s vs mosquitto | p50 vs mosquitto |')
  console.log('|---|---:|---:|---:|---:|---:|---:|')
  let anchor: { rate: number; p50: number } | undefined
  for (const r of results) {
    const s = [...r.lat].sort((a, b) => a - b)
    if (r.name.startsWith('anchor')) anchor = { rate: rate(r), p50: pct(s, 0.5) }
    console.log(`| ${r.name} | ${r.n} | ${rate(r).toFixed(0)} | ${pct(s, 0.5).toFixed(2)} | ${pct(s, 0.99).toFixed(2)} | ${(rate(r) / anchor!.rate).toFixed(2)} | ${(pct(s, 0.5) / anchor!.p50).toFixed(1)}× |`)
  }
}

await main()
