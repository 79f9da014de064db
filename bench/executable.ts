/**
 * Footprint benchmark: what the runtime costs a gateway, next to mosquitto 2 doing the same job on the same
 * machine. Executable size (dist/mecha-linux-x64 when built, else skipped), spawn-to-ready (Mecha: its
 * "mecha is running" line; mosquitto: its port accepting), RSS after 10 s idle, and RSS and CPU while forwarding
 * 1,000 msg/s (QoS 1, 64 B) for 30 s to a cloud mosquitto (Mecha: a `cloud:` forward rule; the anchor: a
 * mosquitto bridge). CPU is utime+stime from /proc/<pid>/stat, as % of one core per 1,000 msg/s.
 * Mecha runs with its default parts (UI and metrics on, port 0), as on a gateway.
 *   node --import tsx bench/executable.ts [--smoke] [--runs N] [--idle-s N] [--load-s N] [--rate N]
 */
import { existsSync, statSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { join } from 'node:path'
import { installCleanup, sleep, waitUntil } from './lib/child.ts'
import { ROOT, mechaCommand, startMecha } from './lib/mecha.ts'
import { BenchMosquitto, MOSQUITTO_BIN, mosquittoMissing } from './lib/mosquitto.ts'
import { connect } from './lib/mqtt-load.ts'
import { cpuSeconds, median, rssKiB } from './lib/proc.ts'
import { finish, numArg, progress, row } from './lib/report.ts'

installCleanup()
const RUNS = numArg('runs', 3, 1)
const IDLE_S = numArg('idle-s', 10, 1)
const LOAD_S = numArg('load-s', 30, 2)
const RATE = numArg('rate', 1000, 1000)
const ANCHOR = 'mosquitto 2'
const MECHA_UI = { ui: { port: 0, enabled: true } }
const FORWARD = (cloudUrl: string): Record<string, unknown> => ({ id: 'gw', cloud: { url: cloudUrl, clientId: 'fp-edge', forward: [{ from: 'sensors/#', to: 'gateways/gw/sensors/', qos: 1 }] } })
const bridgeLines = (cloudPort: number): string[] => ['connection cloud', `address 127.0.0.1:${cloudPort}`, 'topic sensors/# out 1 "" gateways/gw/', 'cleansession false', 'restart_timeout 1', 'notifications false', 'bridge_protocol_version mqttv311']

let uiNote = ''
/** The runtime with its UI, as on a gateway; without it (and a note in the table) if the UI part cannot start. */
async function startWithUi (extra: Record<string, unknown>): Promise<Awaited<ReturnType<typeof startMecha>>> {
  if (uiNote === '') {
    try { return await startMecha({ ...extra, ...MECHA_UI }) } catch (err) {
      const why = /"message":"([^"]{0,120})/.exec((err as Error).message)?.[1] ?? (err as Error).message.split('\n')[0]
      uiNote = `UI off: the runtime did not start with it (${why})`
      progress(uiNote)
    }
  }
  return await startMecha({ ...extra, ui: { enabled: false } })
}

interface Load { rssMaxMiB: number; rssEndMiB: number; cpuPct: number; rate: number; received: number }

/** Publishes RATE msg/s for LOAD_S s to `localUrl`, counting what reaches the cloud; samples the pid's RSS. */
async function forwardLoad (pid: number, localUrl: string, cloudUrl: string, tag: string): Promise<Load> {
  const consumer = await connect(cloudUrl, `fp-consumer-${tag}`)
  let received = 0
  consumer.on('message', () => { received++ })
  await consumer.subscribeAsync('gateways/gw/#', { qos: 1 })
  const pub = await connect(localUrl, `fp-pub-${tag}`)
  // The link is up once a probe crosses it.
  await waitUntil(async () => { await pub.publishAsync('sensors/probe', 'p', { qos: 1 }); await sleep(200); return received > 0 }, 20_000, `${tag} forwarding link`, 0)
  received = 0
  const payload = Buffer.alloc(64, 0x61)
  const cpu0 = cpuSeconds(pid); const t0 = performance.now()
  let sent = 0; let rssMax = 0
  const sampler = setInterval(() => { rssMax = Math.max(rssMax, rssKiB(pid)) }, 250)
  const pending: Array<Promise<unknown>> = []
  while (performance.now() - t0 < LOAD_S * 1000) {
    // Paced by the clock, not by a fixed interval, so a slow tick is caught up and the mean rate holds.
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE)
    while (sent < due) { pending.push(pub.publishAsync(`sensors/s${sent % 10}`, payload, { qos: 1 }).catch(() => {})); sent++ }
    if (pending.length > 5000) await Promise.all(pending.splice(0))
    await sleep(5)
  }
  const secs = (performance.now() - t0) / 1000
  const cpu = cpuSeconds(pid) - cpu0
  clearInterval(sampler)
  const rssEnd = rssKiB(pid)
  await Promise.all(pending)
  await waitUntil(() => received >= sent, 10_000, '').catch(() => {})
  await pub.endAsync(true).catch(() => {}); await consumer.endAsync(true).catch(() => {})
  const rate = sent / secs
  return { rssMaxMiB: Math.max(rssMax, rssEnd) / 1024, rssEndMiB: rssEnd / 1024, cpuPct: (cpu / secs) * 100 / (rate / 1000), rate, received }
}

async function main (): Promise<void> {
  const missing = mosquittoMissing()
  const anchorSkip = missing === undefined ? {} : { anchorSkip: missing }
  const base = { bench: 'executable', anchorName: ANCHOR, ...anchorSkip }
  progress(`mecha runs as ${mechaCommand().what}`)

  const exe = join(ROOT, 'dist', 'mecha-linux-x64')
  const mosqSize = missing === undefined ? statSync(MOSQUITTO_BIN).size / 1048576 : undefined
  if (existsSync(exe)) row({ ...base, metric: 'executable size', unit: 'MiB', better: 'lower', mecha: statSync(exe).size / 1048576, anchor: mosqSize, note: 'mosquitto: its binary alone (it also needs libmosquitto, libssl … from the OS)' })
  else row({ ...base, metric: 'executable size', unit: 'MiB', better: 'lower', skip: 'dist/mecha-linux-x64 not built (npm run build)', anchor: mosqSize })

  const ready = { mecha: [] as number[], anchor: [] as number[] }
  for (let i = 0; i < RUNS; i++) {
    const m = await startWithUi({}); ready.mecha.push(m.readyMs); await m.close()
    if (missing === undefined) { const t0 = performance.now(); const q = await BenchMosquitto.start(); ready.anchor.push(performance.now() - t0); await q.close() }
  }
  row({ ...base, metric: `spawn to ready (median of ${RUNS})`, unit: 'ms', better: 'lower', mecha: median(ready.mecha), anchor: missing === undefined ? median(ready.anchor) : undefined, note: 'Mecha: "mecha is running" logged; mosquitto: port accepting; both include writing the config' })

  // Idle, then forwarding: one cloud broker per side.
  const results: Record<'mecha' | 'anchor', { idle: number; load: Load } | undefined> = { mecha: undefined, anchor: undefined }
  if (missing === undefined) {
    // Both sides idle side by side (an idle process costs the other nothing), so the 10 s are waited once;
    // then each forwards in turn while the other stays idle.
    const mCloud = await BenchMosquitto.start({ name: 'cloud' })
    const aCloud = await BenchMosquitto.start({ name: 'cloud' })
    const m = await startWithUi(FORWARD(mCloud.url))
    const q = await BenchMosquitto.start({ name: 'mosquitto-edge', extra: bridgeLines(aCloud.port) })
    try {
      await sleep(IDLE_S * 1000)
      const idle = { mecha: rssKiB(m.child.pid) / 1024, anchor: rssKiB(q.pid) / 1024 }
      results.mecha = { idle: idle.mecha, load: await forwardLoad(m.child.pid, `mqtt://127.0.0.1:${m.mqttPort}`, mCloud.url, 'm') }
      results.anchor = { idle: idle.anchor, load: await forwardLoad(q.pid, q.url, aCloud.url, 'a') }
    } finally { await m.close(); await q.close(); await mCloud.close(); await aCloud.close() }
  } else {
    const m = await startWithUi({})
    await sleep(IDLE_S * 1000)
    results.mecha = { idle: rssKiB(m.child.pid) / 1024, load: { rssMaxMiB: NaN, rssEndMiB: NaN, cpuPct: NaN, rate: NaN, received: 0 } }
    await m.close()
  }
  const m = results.mecha!; const a = results.anchor
  progress(`idle RSS mecha ${m.idle.toFixed(1)} MiB${a === undefined ? '' : `, mosquitto ${a.idle.toFixed(1)} MiB`}`)
  row({ ...base, metric: `RSS after ${IDLE_S} s idle`, unit: 'MiB', better: 'lower', mecha: m.idle, anchor: a?.idle, note: ['both with a cloud link configured', uiNote].filter((x) => x !== '').join('; ') })
  const loadNote = (l: Load | undefined, who: string): string => (l === undefined ? '' : `${who} ${l.rate.toFixed(0)} msg/s sent, ${l.received} reached the cloud`)
  const skipLoad = missing === undefined ? {} : { skip: `needs mosquitto as the cloud broker: ${missing}` }
  row({ ...base, ...skipLoad, metric: `RSS while forwarding ${RATE} msg/s for ${LOAD_S} s (max)`, unit: 'MiB', better: 'lower', mecha: m.load.rssMaxMiB, anchor: a?.load.rssMaxMiB, note: [loadNote(m.load, 'Mecha'), loadNote(a?.load, 'mosquitto')].filter((x) => x !== '').join('; ') })
  row({ ...base, ...skipLoad, metric: 'CPU per 1,000 msg/s forwarded', unit: '% of a core', better: 'lower', mecha: m.load.cpuPct, anchor: a?.load.cpuPct, note: 'utime+stime of the edge process only' })
  finish()
}

await main()
