/**
 * Cloud bridge benchmark against its anchor, a mosquitto bridge (`connection` section), in the same run:
 *  - live forwarding msgs/s (QoS 1, publisher → local broker → bridge → cloud mosquitto → consumer),
 *  - drain time of a backlog built while the cloud was down (includes each bridge's reconnect delay),
 *  - messages lost after kill -9 of the process holding the backlog.
 *   node --import tsx bench/cloud-bridge.ts [--n 20000] [--kill 5000]
 * Both local brokers get unlimited queues (mosquitto's default of 1000 would drop most of the backlog).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LevelStore } from '../core/store/index.ts'
import { CloudBridge } from '../cloud-bridge/index.ts'
import { AedesBus } from '../test/helpers/aedes-bus.ts'
import { Mosquitto, MOSQUITTO_BIN, freePort } from '../test/helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../test/helpers/tmp.ts'
import { CloudSubscriber, connectClient, testLogger, waitFor } from '../test/cloud-bridge/helpers.ts'

const arg = (name: string, def: string): number => { const i = process.argv.indexOf(`--${name}`); return Number(i >= 0 ? process.argv[i + 1] : def) }
const N = arg('n', '20000')
const KILL_N = arg('kill', '5000')
const FIXTURE = fileURLToPath(new URL('../test/cloud-bridge/fixtures/bridge-process.ts', import.meta.url))
const TOPIC_FILTER = 'gateways/gw/#'

interface Side {
  localUrl: string
  /** Puts the side back after its local broker died. */
  restartLocal?: () => Promise<void>
  killLocal?: () => Promise<void>
  close: () => Promise<void>
}

async function mecha (cloud: Mosquitto, dataDir: string): Promise<Side> {
  const store = await LevelStore.create({ dataDir })
  const bus = await AedesBus.create()
  const bridge = await CloudBridge.create({
    nodeId: 'gw', store, bus, log: testLogger(),
    config: { url: cloud.url, backoff: { minMs: 1000, maxMs: 1000 }, forward: [{ from: 'sensors/#', to: 'gateways/gw/sensors/' }] },
  })
  return { localUrl: bus.url, close: async () => { await bridge.close(); await bus.close(); await store.close() } }
}

async function mosquittoBridge (cloud: Mosquitto): Promise<Side & { child: () => ChildProcess | undefined }> {
  const dir = await tmpDir('mosq-bridge')
  const port = await freePort()
  const conf = join(dir, 'local.conf')
  await writeFile(conf, [
    `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`,
    'max_queued_messages 0', 'log_dest none',
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'connection cloud', `address 127.0.0.1:${cloud.port}`, 'topic sensors/# out 1 "" gateways/gw/', 'restart_timeout 1', 'cleansession false',
  ].join('\n') + '\n')
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: 'ignore' })
    await waitFor(async () => { try { (await connectClient(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4 })).end(true); return true } catch { return false } }, 10_000, 'local mosquitto')
  }
  await start()
  return {
    localUrl: `mqtt://127.0.0.1:${port}`,
    child: () => child,
    restartLocal: start,
    killLocal: async () => { const c = child; if (c === undefined) return; const done = new Promise((resolve) => c.once('exit', resolve)); c.kill('SIGKILL'); await done },
    close: async () => { const c = child; if (c !== undefined && c.exitCode === null) { const done = new Promise((resolve) => c.once('exit', resolve)); c.kill('SIGTERM'); await done } },
  }
}

async function publishAll (url: string, n: number, from = 0): Promise<number> {
  const pub = await connectClient(url, { protocolVersion: 4 })
  let acked = 0
  pub.on('error', () => {})
  await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(`sensors/s${i % 10}`, String(from + i), { qos: 1 }).then(() => { acked++ }, () => {})))
  pub.end(true)
  return acked
}

async function live (name: string, make: (cloud: Mosquitto) => Promise<Side>): Promise<number> {
  const cloud = await Mosquitto.start()
  const consumer = await CloudSubscriber.create(cloud.url, TOPIC_FILTER)
  const side = await make(cloud)
  await new Promise((resolve) => setTimeout(resolve, 1500)) // both bridges connected
  const t0 = Date.now()
  await publishAll(side.localUrl, N)
  await waitFor(() => consumer.distinct() >= N, 120_000, () => `${name} live ${consumer.distinct()}/${N}`)
  const rate = N / ((Date.now() - t0) / 1000)
  await consumer.close(); await side.close(); await cloud.stop()
  return rate
}

async function drain (name: string, make: (cloud: Mosquitto) => Promise<Side>): Promise<number> {
  const cloud = await Mosquitto.start()
  const consumer = await CloudSubscriber.create(cloud.url, TOPIC_FILTER, { clientId: `c-${name}`, clean: false, reconnectPeriod: 100, properties: { sessionExpiryInterval: 3600 } })
  const side = await make(cloud)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await cloud.stop()
  await publishAll(side.localUrl, N)
  const t0 = Date.now()
  await cloud.startAgain()
  await waitFor(() => consumer.distinct() >= N, 300_000, () => `${name} drain ${consumer.distinct()}/${N}`)
  const ms = Date.now() - t0
  await consumer.close(); await side.close(); await cloud.stop()
  return ms
}

async function lostAfterKill (name: string, run: (cloud: Mosquitto) => Promise<{ acked: number; restart: () => Promise<void>; close: () => Promise<void> }>): Promise<[number, number]> {
  const cloud = await Mosquitto.start()
  const consumer = await CloudSubscriber.create(cloud.url, TOPIC_FILTER, { clientId: `k-${name}`, clean: false, reconnectPeriod: 100, properties: { sessionExpiryInterval: 3600 } })
  await cloud.stop()
  const r = await run(cloud)
  await r.restart()
  await cloud.startAgain()
  await waitFor(() => consumer.distinct() >= r.acked, 20_000, 'all').catch(() => {})
  const lost = r.acked - consumer.distinct()
  await consumer.close(); await r.close(); await cloud.stop()
  return [r.acked, lost]
}

async function main (): Promise<void> {
  const rows: Array<[string, string, string, string]> = []
  const liveM = await live('mecha', async (c) => await mecha(c, await tmpDir('bench-live')))
  const liveQ = await live('mosquitto', mosquittoBridge)
  rows.push(['live forwarding (msgs/s, QoS 1)', liveM.toFixed(0), liveQ.toFixed(0), (liveM / liveQ).toFixed(2)])
  const drainM = await drain('mecha', async (c) => await mecha(c, await tmpDir('bench-drain')))
  const drainQ = await drain('mosquitto', mosquittoBridge)
  rows.push([`drain ${N} backlog (ms, incl. reconnect)`, String(drainM), String(drainQ), (drainQ / drainM).toFixed(2)])

  const [ackM, lostM] = await lostAfterKill('mecha', async (cloud) => {
    const dataDir = await tmpDir('bench-k9')
    const env = { dataDir, nodeId: 'gw', config: { url: cloud.url, backoff: { minMs: 200, maxMs: 500 }, forward: [{ from: 'sensors/#', to: 'gateways/gw/sensors/' }] } }
    const host = async (): Promise<{ child: ChildProcess; port: number }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env: { ...process.env, MECHA_TEST_BRIDGE: JSON.stringify(env) }, stdio: ['ignore', 'pipe', 'inherit'] })
      const port = await new Promise<number>((resolve) => { child.stdout!.on('data', (d: Buffer) => { const m = /READY (\d+)/.exec(d.toString()); if (m !== null) resolve(Number(m[1])) }) })
      return { child, port }
    }
    const first = await host()
    const acked = await publishAll(`mqtt://127.0.0.1:${first.port}`, KILL_N)
    first.child.kill('SIGKILL')
    let second: ChildProcess | undefined
    return { acked, restart: async () => { second = (await host()).child }, close: async () => { second?.kill('SIGTERM') } }
  })
  const [ackQ, lostQ] = await lostAfterKill('mosquitto', async (cloud) => {
    const side = await mosquittoBridge(cloud)
    const acked = await publishAll(side.localUrl, KILL_N)
    await side.killLocal!()
    return { acked, restart: side.restartLocal!, close: side.close }
  })
  rows.push([`lost after kill -9 (of ${KILL_N} acked)`, `${lostM} of ${ackM}`, `${lostQ} of ${ackQ}`, '-'])

  console.log('\n| cloud bridge | mecha | mosquitto bridge | ratio (mecha better > 1) |\n|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.join(' | ')} |`)
  await cleanupTmp()
}

await main()
