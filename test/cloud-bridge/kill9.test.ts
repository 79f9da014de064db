/**
 * kill -9 of the process hosting the bridge during a cloud outage, then a restart, then the cloud back:
 * every message the local broker acknowledged reaches the cloud.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { track } from '../helpers/children.ts'
import { CloudSubscriber, connectClient, waitFor } from './helpers.ts'
import type { Ledger } from '../../cloud-bridge/index.ts'

const fixture = fileURLToPath(new URL('./fixtures/bridge-process.ts', import.meta.url))
const children = new Set<ChildProcess>()

interface Hosted { child: ChildProcess; port: number; ledgers: Ledger[] }

async function host (env: object): Promise<Hosted> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, MECHA_TEST_BRIDGE: JSON.stringify(env) }, stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  child.on('exit', () => children.delete(child))
  track(child, 'bridge process') // also killed if the file ends before its after hook runs
  const ledgers: Ledger[] = []
  let out = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`bridge process not ready: ${out}`)) }, 20_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const lines = out.split('\n'); out = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('READY ')) { clearTimeout(timer); resolve(Number(line.slice(6))) }
        if (line.startsWith('LEDGER ')) ledgers.push(JSON.parse(line.slice(7)) as Ledger)
      }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`bridge process exited ${String(code)}`)) })
  })
  return { child, port, ledgers }
}

let mosq: Mosquitto
let cloud: CloudSubscriber | undefined
test.before(async () => { mosq = await Mosquitto.start() })
test.after(async () => {
  for (const c of children) c.kill('SIGKILL')
  await cloud?.close()
  await mosq?.stop()
  await cleanupTmp()
})

test('cloud-bridge - kill -9 during an outage loses nothing that was acknowledged', async () => {
  const dataDir = await tmpDir('kill9')
  const env = {
    dataDir, nodeId: 'gw-k9',
    config: { url: mosq.url, backoff: { minMs: 50, maxMs: 300 }, forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }] },
  }
  cloud = await CloudSubscriber.create(mosq.url, 'gateways/gw-k9/#', {
    clientId: 'k9-consumer', clean: false, reconnectPeriod: 100, properties: { sessionExpiryInterval: 3600 },
  })
  await mosq.stop()

  const first = await host(env)
  const pub = await connectClient(`mqtt://127.0.0.1:${first.port}`, { protocolVersion: 4, clientId: 'sensor-k9' })
  pub.on('error', () => {})
  const acked = new Set<number>()
  const total = 4000
  let killed = false
  const sends: Array<Promise<void>> = []
  // Publish in small waves so the kill lands while publishes are in flight, not after the last one.
  for (let i = 0; i < total && first.child.exitCode === null && first.child.signalCode === null; i++) {
    sends.push(pub.publishAsync(`sensors/s${i % 4}`, String(i), { qos: 1 }).then(() => {
      acked.add(i)
      if (!killed && acked.size >= total / 4) { killed = true; first.child.kill('SIGKILL') }
    }, () => {}))
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await waitFor(() => killed, 20_000, 'a quarter acknowledged, then kill -9')
  await new Promise<void>((resolve) => { if (first.child.exitCode !== null || first.child.signalCode !== null) resolve(); else first.child.once('exit', () => { resolve() }) })
  pub.end(true)
  await Promise.race([Promise.all(sends), new Promise((resolve) => setTimeout(resolve, 1000))])
  const ackedAtKill = new Set(acked)
  assert.ok(ackedAtKill.size >= total / 4 && ackedAtKill.size < total, `acked ${ackedAtKill.size}`)

  const second = await host(env)
  await mosq.startAgain()
  const c = cloud
  await waitFor(() => second.ledgers.length > 0 || c.distinct() >= total, 30_000, () => `${c.distinct()} of ${ackedAtKill.size} acknowledged at the cloud`)
  await waitFor(() => c.distinct() >= (second.ledgers.at(-1)?.delivered ?? total), 10_000, 'the cloud consumer caught up')
  const got = new Set(c.received.map((r) => Number(r.payload.toString())))
  const lost = [...ackedAtKill].filter((i) => !got.has(i))
  assert.equal(lost, [], `acknowledged but lost: ${lost.length}`)
  assert.is(c.orderViolations((r) => Number(r.payload.toString())), 0, 'per-topic order')
  await waitFor(() => second.ledgers.length > 0, 10_000, 'ledger after the drain')
  const ledger = second.ledgers[second.ledgers.length - 1]
  assert.ok(ledger.balanced, JSON.stringify(ledger))
  assert.is(ledger.queued, 0)
  // Everything the dead process accepted (acked, plus any written but not yet acked) was delivered.
  assert.ok(ledger.delivered >= ackedAtKill.size, JSON.stringify(ledger))
  console.log(`  kill -9: ${ackedAtKill.size} acknowledged before the kill, ${ledger.accepted} accepted, ${got.size} delivered, 0 lost`)
  second.child.kill('SIGTERM')
})

test.run()
