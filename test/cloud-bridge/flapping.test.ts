/** A link cut every few hundred ms by a TCP proxy during a 5,000-message run: nothing lost, order kept. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import { LevelStore } from '../../core/store/index.ts'
import { CloudBridge } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { CloudSubscriber, connectClient, sleep, testLogger, waitFor } from './helpers.ts'

const WINDOW = 32
let mosq: Mosquitto
let proxy: TcpProxy
let bus: AedesBus
let store: LevelStore
let bridge: CloudBridge
let cloud: CloudSubscriber
let local: MqttClient

test.before(async () => {
  mosq = await Mosquitto.start()
  proxy = await TcpProxy.create(mosq.port)
  bus = await AedesBus.create()
  store = await LevelStore.create({ dataDir: await tmpDir('flap') })
  cloud = await CloudSubscriber.create(mosq.url, 'gateways/gw-flap/#')
  bridge = await CloudBridge.create({
    nodeId: 'gw-flap',
    config: { url: `mqtt://127.0.0.1:${proxy.port}`, inflight: WINDOW, backoff: { minMs: 20, maxMs: 100 }, forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }] },
    store,
    bus,
    log: testLogger(),
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'bridge connected')
  local = await connectClient(bus.url, { protocolVersion: 4, clientId: 'sensor-flap' })
})

test.after(async () => {
  await local?.endAsync(true)
  await cloud?.close()
  await bridge?.close()
  await proxy?.close()
  await bus?.close()
  await store?.close()
  await mosq?.stop()
  await cleanupTmp()
})

test('cloud-bridge - a flapping link loses nothing and keeps per-topic order', async () => {
  const n = 5000
  let cutting = true
  const cutter = (async () => {
    while (cutting) { await sleep(150 + Math.floor(Math.random() * 200)); if (cutting) proxy.cut() }
  })()
  const pubs: Array<Promise<unknown>> = []
  for (let i = 0; i < n; i++) {
    pubs.push(local.publishAsync(`sensors/s${i % 5}`, String(i), { qos: 1 }))
    if (i % 100 === 99) await sleep(40) // about 2.5 s of traffic, so the cuts land in the middle of it
  }
  await Promise.all(pubs)
  await waitFor(() => bridge.ledger().queued === 0 && cloud.distinct() >= n, 30_000, () => `flapping: ${cloud.distinct()}/${n}, ${JSON.stringify(bridge.ledger())}`)
  cutting = false
  await cutter
  assert.ok(proxy.cuts >= 5, `the link was cut ${proxy.cuts} times`)
  assert.is(cloud.distinct(), n, 'nothing lost')
  assert.is(cloud.orderViolations((r) => Number(r.payload.toString())), 0, 'per-topic order')
  assert.ok(cloud.duplicates() <= WINDOW * proxy.cuts, `duplicates ${cloud.duplicates()} ≤ window × cuts`)
  const ledger = bridge.ledger()
  assert.ok(ledger.balanced)
  assert.is(ledger.delivered, n)
  console.log(`  flapping: ${proxy.cuts} cuts, ${proxy.connections} connections, ${cloud.duplicates()} duplicates`)
})

test.run()
