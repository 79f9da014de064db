/**
 * Broker benchmark, Mecha next to mosquitto in the same run: pub/sub throughput at QoS 0 and QoS 1 (one
 * publisher, one subscriber, loopback), p50/p99 publish-to-receive latency, spawn-to-ready time (Mecha: healthz
 * 204; mosquitto: port accepting) as the median of 5, and idle RSS after 10 s.
 *   node --import tsx bench/broker.ts [--n 20000] [--idle 10]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { existsSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'

const arg = (name: string, def: string): number => { const i = process.argv.indexOf(`--${name}`); return Number(i >= 0 ? process.argv[i + 1] : def) }
const N = arg('n', '20000')
const IDLE_S = arg('idle', '10')
const ROOT = join(import.meta.dirname, '..')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function freePort (): Promise<number> {
  const { createServer } = await import('node:net')
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

async function waitPort (port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1'); s.once('connect', () => { s.destroy(); resolve(true) }); s.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(5)
  }
  throw new Error(`port ${port} not ready`)
}

async function waitHealthz (port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${port}/v1.0/healthz`).then((r) => r.status, () => 0)
    if (status === 204) return
    await sleep(5)
  }
  throw new Error('healthz never 204')
}

interface Server { proc: ChildProcess; mqttPort: number; stop: () => Promise<void> }

/** The executable when it is built (what a gateway runs), else the bundle, else the sources through tsx. */
function mechaCommand (): { cmd: string[]; what: string } {
  const exe = join(ROOT, 'dist/mecha-linux-x64'); const bundle = join(ROOT, 'dist/bundle.cjs')
  if (process.arch === 'x64' && existsSync(exe)) return { cmd: [exe, 'run'], what: 'dist/mecha-linux-x64' }
  if (existsSync(bundle)) return { cmd: [process.execPath, bundle, 'run'], what: 'node dist/bundle.cjs' }
  return { cmd: [process.execPath, '--import', 'tsx', join(ROOT, 'edge/main.ts'), 'run'], what: 'sources via tsx (run npm run build for the executable)' }
}
const MECHA = mechaCommand()

async function startMecha (): Promise<Server & { apiPort: number }> {
  const [mqttPort, apiPort, uiPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-mecha-'))
  const proc = spawn(MECHA.cmd[0], [...MECHA.cmd.slice(1), '--data-dir', dataDir], {
    cwd: ROOT, stdio: 'ignore',
    env: { ...process.env, MECHA_MQTT_PORT: String(mqttPort), MECHA_API_PORT: String(apiPort), MECHA_UI_PORT: String(uiPort), MECHA_METRICS_PORT: String(metricsPort), MECHA_LOG_LEVEL: 'warn' },
  })
  return { proc, mqttPort, apiPort, stop: async () => { proc.kill('SIGTERM'); await new Promise((r) => proc.once('exit', r)); await rm(dataDir, { recursive: true, force: true }) } }
}

async function startMosquitto (): Promise<Server> {
  const mqttPort = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'bench-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  const lines = [`listener ${mqttPort} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'max_queued_messages 0']
  if (process.getuid?.() === 0) lines.push(`user ${userInfo().username}`)
  await writeFile(conf, lines.join('\n') + '\n')
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' })
  return { proc, mqttPort, stop: async () => { proc.kill('SIGTERM'); await new Promise((r) => proc.once('exit', r)); await rm(dir, { recursive: true, force: true }) } }
}

async function rssKb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
}

async function throughput (port: number, qos: 0 | 1): Promise<{ perSec: number; p50: number; p99: number }> {
  const url = `mqtt://127.0.0.1:${port}`
  const sub = await mqtt.connectAsync(url, { clientId: `bench-sub-${qos}`, protocolVersion: 4 })
  const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${qos}`, protocolVersion: 4 })
  await sub.subscribeAsync('bench/#', { qos })
  const lat: number[] = []
  let got = 0
  const done = new Promise<void>((resolve) => {
    sub.on('message', (_t, payload) => {
      lat.push(Number(process.hrtime.bigint() - BigInt(payload.toString())) / 1e6)
      if (++got >= N) resolve()
    })
  })
  const t0 = process.hrtime.bigint()
  // A window of 100 unacknowledged publishes, as a busy gateway's sensors would keep in flight.
  let next = 0
  await Promise.all(Array.from({ length: 100 }, async () => {
    for (let i = next++; i < N; i = next++) await pub.publishAsync(`bench/${i % 10}`, process.hrtime.bigint().toString(), { qos })
  }))
  await Promise.race([done, sleep(120_000)])
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  await sub.endAsync(); await pub.endAsync()
  lat.sort((a, b) => a - b)
  return { perSec: got / secs, p50: lat[Math.floor(lat.length * 0.5)] ?? NaN, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')

async function main (): Promise<void> {
  const startMs = { mecha: [] as number[], mosquitto: [] as number[] }
  for (let i = 0; i < 5; i++) {
    let t0 = Date.now(); const m = await startMecha(); await waitHealthz(m.apiPort, Date.now() + 30_000); startMs.mecha.push(Date.now() - t0); await m.stop()
    t0 = Date.now(); const q = await startMosquitto(); await waitPort(q.mqttPort, Date.now() + 10_000); startMs.mosquitto.push(Date.now() - t0); await q.stop()
  }
  const mecha = await startMecha(); await waitHealthz(mecha.apiPort, Date.now() + 30_000)
  const mosq = await startMosquitto(); await waitPort(mosq.mqttPort, Date.now() + 10_000)
  await sleep(IDLE_S * 1000)
  const rss = { mecha: await rssKb(mecha.proc.pid!), mosquitto: await rssKb(mosq.proc.pid!) }
  const rows: string[][] = []
  rows.push(['spawn to ready, median of 5 (ms)', fmt(median(startMs.mecha)), fmt(median(startMs.mosquitto)), fmt(median(startMs.mosquitto) / median(startMs.mecha), 3)])
  rows.push([`idle RSS after ${IDLE_S} s (MiB)`, fmt(rss.mecha / 1024, 1), fmt(rss.mosquitto / 1024, 1), fmt(rss.mosquitto / rss.mecha, 3)])
  for (const qos of [0, 1] as const) {
    const a = await throughput(mecha.mqttPort, qos); const b = await throughput(mosq.mqttPort, qos)
    rows.push([`QoS ${qos} pub/sub msgs/s (${N})`, fmt(a.perSec), fmt(b.perSec), fmt(a.perSec / b.perSec, 3)])
    rows.push([`QoS ${qos} latency p50 / p99 (ms)`, `${fmt(a.p50, 2)} / ${fmt(a.p99, 2)}`, `${fmt(b.p50, 2)} / ${fmt(b.p99, 2)}`, fmt(b.p99 / a.p99, 3)])
  }
  rows.push(['RSS after the load (MiB)', fmt(await rssKb(mecha.proc.pid!) / 1024, 1), fmt(await rssKb(mosq.proc.pid!) / 1024, 1), ''])
  await mecha.stop(); await mosq.stop()
  console.log(`\nmecha ran as: ${MECHA.what}`)
  console.log('\n| broker | mecha | mosquitto | ratio (mecha better > 1) |\n|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.join(' | ')} |`)
}

await main()
