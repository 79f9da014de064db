/**
 * Cloud bridge benchmark: the runtime (its own process, a `cloud:` forward rule) next to a mosquitto → mosquitto
 * bridge configured for the same job (persistent session `cleansession false`, QoS 1 out, unlimited
 * `max_queued_messages`, `restart_timeout 1` as Mecha's 1 s backoff). Each side has its own cloud mosquitto
 * (persistence on) and a persistent QoS 1 consumer on it. In order, per side:
 *  1. live forwarding: N QoS 1 publishes (100 in flight) to the local broker, msgs/s until the last reached the cloud —
 *     first right after the link is up (cold), then after W more unmeasured (warm: the runtime is JIT compiled, and
 *     its live rate rose from ~16k to ~21–24k msgs/s over its first 40,000–60,000 messages; mosquitto's does not
 *     move). The client (MQTT.js, this process) is warmed before either side on a broker of its own, so neither
 *     side is measured with a cold client (it warms up too);
 *  2. outage: the cloud stops, a backlog of B messages is published and acked locally, the cloud starts again;
 *     the time to the first drained message and to the last (both include the bridge's reconnect);
 *  3. kill -9: the cloud stops, K messages are published and acked, the edge is killed with SIGKILL and started
 *     again, the cloud returns; messages lost = acked − distinct received. mosquitto has no write-before-ack: it
 *     runs with `autosave_interval 1` (its persistence file every second), its closest setting.
 *   node --import tsx bench/cloud-bridge.ts [--smoke] [--n N] [--warmup W] [--backlog B] [--kill K]
 */
import { performance } from 'node:perf_hooks'
import type { MqttClient } from 'mqtt'
import { installCleanup, sleep, waitUntil } from './lib/child.ts'
import { PROFILE, startMecha, type MechaProcess } from './lib/mecha.ts'
import { BenchMosquitto, mosquittoMissing } from './lib/mosquitto.ts'
import { connect } from './lib/mqtt-load.ts'
import { finish, numArg, progress, row, SMOKE, type Row } from './lib/report.ts'

installCleanup()
const N = numArg('n', 20_000, 300)
const BACKLOG = numArg('backlog', 20_000, 300)
const KILL_N = numArg('kill', 5000, 200)
const WARMUP = numArg('warmup', 40_000, 300)
const WAIT_MS = SMOKE ? 20_000 : 180_000
const DRAIN_MS = SMOKE ? 10_000 : 90_000
const notes: string[] = []
const ANCHOR = 'mosquitto → mosquitto bridge'

/** A persistent QoS 1 consumer on the cloud broker: distinct payloads per phase and when each first arrived. */
class Consumer {
  readonly seen = new Map<string, Set<string>>()
  readonly first = new Map<string, number>()
  readonly last = new Map<string, number>()
  client!: MqttClient
  static async create (url: string, id: string): Promise<Consumer> {
    const c = new Consumer()
    c.client = await connect(url, id, { clean: false, reconnectPeriod: 100 })
    c.client.on('message', (_t, payload) => {
      const s = payload.toString(); const phase = s.slice(0, s.indexOf('-'))
      let set = c.seen.get(phase)
      if (set === undefined) { set = new Set(); c.seen.set(phase, set); c.first.set(phase, performance.now()) }
      if (!set.has(s)) { set.add(s); c.last.set(phase, performance.now()) }
    })
    await c.client.subscribeAsync('gateways/gw/#', { qos: 1 })
    return c
  }
  count (phase: string): number { return this.seen.get(phase)?.size ?? 0 }
  async close (): Promise<void> { await this.client.endAsync(true).catch(() => {}) }
}

/** Publishes n QoS 1 messages `<phase>-<i>` with 100 in flight; resolves to how many the broker acknowledged. */
async function publishAll (url: string, phase: string, n: number): Promise<number> {
  const pub = await connect(url, `pub-${phase}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`)
  let next = 0; let acked = 0
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < n) {
      const i = next++
      try { await pub.publishAsync(`sensors/s${i % 10}`, `${phase}-${i}`, { qos: 1 }); acked++ } catch {}
    }
  }))
  await pub.endAsync(true).catch(() => {})
  return acked
}

interface Edge {
  localUrl: () => string; output: () => string; kill9: () => Promise<void>; restart: () => Promise<void>; close: () => Promise<void>
  /** SIGTERM and start again: only when profiling, so the live and drain phases' profile is written before the kill -9. */
  cleanRestart?: () => Promise<void>
}

async function mechaEdge (cloud: BenchMosquitto): Promise<Edge> {
  const config = {
    id: 'gw',
    cloud: { url: cloud.url, clientId: 'bench-edge', backoff: { minMs: 1000, maxMs: 1000 }, forward: [{ from: 'sensors/#', to: 'gateways/gw/sensors/', qos: 1 }] },
  }
  let m: MechaProcess = await startMecha(config)
  return {
    localUrl: () => `mqtt://127.0.0.1:${m.mqttPort}`,
    output: () => m.child.output(),
    kill9: async () => { await m.kill9() },
    restart: async () => { m = await startMecha(config, { dataDir: m.dataDir }) },
    cleanRestart: async () => { await m.stop(); m = await startMecha(config, { dataDir: m.dataDir }) },
    close: async () => { await m.close() },
  }
}

async function mosquittoEdge (cloud: BenchMosquitto): Promise<Edge> {
  const local = await BenchMosquitto.start({
    name: 'mosquitto-edge',
    persistence: true,
    extra: ['autosave_interval 1', 'connection cloud', `address 127.0.0.1:${cloud.port}`, 'topic sensors/# out 1 "" gateways/gw/',
      'cleansession false', 'restart_timeout 1', 'notifications false', 'bridge_protocol_version mqttv311'],
  })
  return {
    localUrl: () => local.url,
    output: () => local.output(),
    kill9: async () => { await local.kill9() },
    restart: async () => { await local.startAgain() },
    close: async () => { await local.close() },
  }
}

async function side (who: 'mecha' | 'anchor', make: (cloud: BenchMosquitto) => Promise<Edge>): Promise<Record<string, number>> {
  const cloud = await BenchMosquitto.start({ name: `cloud-${who}`, persistence: true })
  const consumer = await Consumer.create(cloud.url, `consumer-${who}`)
  const edge = await make(cloud)
  const out: Record<string, number> = {}
  try {
    // The link is up once a probe crosses it.
    await waitUntil(async () => { await publishAll(edge.localUrl(), 'probe', 1); await sleep(200); return consumer.count('probe') > 0 }, 20_000, `${who} bridge link`, 0)

    const live = async (phase: string, n: number): Promise<number> => {
      const t0 = performance.now()
      await publishAll(edge.localUrl(), phase, n)
      await waitUntil(() => consumer.count(phase) >= n, WAIT_MS, () => `${who} ${phase} ${consumer.count(phase)}/${n}`)
      return n / ((consumer.last.get(phase)! - t0) / 1000)
    }
    out.liveCold = await live('cold', N)
    await live('warm', WARMUP)
    out.live = await live('live', N)
    progress(`${who}: live ${out.live.toFixed(0)} msgs/s (cold: ${out.liveCold.toFixed(0)})`)

    await cloud.stop()
    const acked = await publishAll(edge.localUrl(), 'drain', BACKLOG)
    const t1 = performance.now()
    await cloud.startAgain()
    // Bounded: a backlog that does not drain is a result (noted in the table), not a hang.
    const drained = await waitUntil(() => consumer.count('drain') >= acked, DRAIN_MS, '').then(() => true, () => false)
    out.first = (consumer.first.get('drain') ?? NaN) - t1
    out.drain = drained ? consumer.last.get('drain')! - t1 : NaN
    out.drainRate = drained ? acked / ((consumer.last.get('drain')! - consumer.first.get('drain')!) / 1000) : NaN
    if (!drained) notes.push(`${who === 'mecha' ? 'Mecha' : 'mosquitto'} drained ${consumer.count('drain')} of ${acked} within ${DRAIN_MS / 1000} s`)
    progress(`${who}: ${consumer.count('drain')}/${acked} backlog drained in ${out.drain.toFixed(0)} ms, first after ${out.first.toFixed(0)} ms`)

    // A kill -9 leaves no CPU profile: when profiling, the process of the live and drain phases ends cleanly here.
    if (PROFILE) await edge.cleanRestart?.()
    await cloud.stop()
    out.killAcked = await publishAll(edge.localUrl(), 'kill', KILL_N)
    await edge.kill9()
    await edge.restart()
    await cloud.startAgain()
    // Until everything acked arrived, or nothing new came for a while (bounded either way).
    let lastCount = -1; let stillSince = performance.now()
    await waitUntil(() => {
      const c = consumer.count('kill')
      if (c !== lastCount) { lastCount = c; stillSince = performance.now() }
      return c >= out.killAcked! || performance.now() - stillSince > (SMOKE ? 4000 : 10_000)
    }, DRAIN_MS, `${who} after kill -9`).catch(() => {})
    out.lost = out.killAcked - consumer.count('kill')
    progress(`${who}: lost ${out.lost} of ${out.killAcked} after kill -9`)
  } catch (err) {
    progress(`${who} failed; edge output:\n${edge.output().slice(-3000)}\ncloud output:\n${cloud.output().slice(-2000)}`)
    throw err
  } finally {
    await consumer.close()
    await edge.close()
    await cloud.close()
  }
  return out
}

async function main (): Promise<void> {
  const missing = mosquittoMissing()
  if (missing !== undefined) {
    // Both sides need mosquitto as the cloud broker: nothing can run.
    for (const metric of ['live forwarding', 'backlog drain']) row({ bench: 'cloud-bridge', metric, unit: '', better: 'higher', anchorName: ANCHOR, skip: missing, anchorSkip: missing })
    finish(); return
  }
  // The client warmed on a broker of its own (see the header).
  const warmBroker = await BenchMosquitto.start({ name: 'client-warm-up' })
  try { await publishAll(warmBroker.url, 'client', WARMUP) } finally { await warmBroker.close() }
  const m = await side('mecha', mechaEdge)
  const a = await side('anchor', mosquittoEdge)
  const base: Pick<Row, 'bench' | 'anchorName'> = { bench: 'cloud-bridge', anchorName: ANCHOR }
  row({ ...base, metric: `live forwarding, QoS 1, cold: the first ${N} msgs after the link is up`, unit: 'msgs/s', better: 'higher', mecha: m.liveCold, anchor: a.liveCold })
  row({ ...base, metric: `live forwarding, QoS 1 (${N} msgs)`, unit: 'msgs/s', better: 'higher', mecha: m.live, anchor: a.live, note: `after ${N + WARMUP} msgs through the bridge` })
  row({ ...base, metric: `${BACKLOG}-msg backlog: time to first drained msg`, unit: 'ms', better: 'lower', mecha: m.first, anchor: a.first, note: 'from the cloud restart; includes the reconnect' })
  row({ ...base, metric: `${BACKLOG}-msg backlog: drain time`, unit: 'ms', better: 'lower', mecha: m.drain, anchor: a.drain, note: ['from the cloud restart to the last message', ...notes].join('; ') })
  row({ ...base, metric: `${BACKLOG}-msg backlog: drain rate`, unit: 'msgs/s', better: 'higher', mecha: m.drainRate, anchor: a.drainRate, note: 'first to last drained message' })
  row({ ...base, metric: `lost after kill -9 during the outage (${KILL_N} sent)`, unit: 'msgs', better: 'lower', mecha: m.lost, anchor: a.lost, note: `acked: Mecha ${m.killAcked}, mosquitto ${a.killAcked}; mosquitto autosave_interval 1` })
  finish()
}

await main()
