/** A cloud outage: 10,000 QoS 1 messages published while mosquitto is down all arrive, in per-topic order. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import { LevelStore } from '../../core/store/index.ts'
import { CloudBridge } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { CloudSubscriber, connectClient, testLogger, waitFor } from './helpers.ts'

const WINDOW = 32
let mosq: Mosquitto
let bus: AedesBus
let store: LevelStore
let bridge: CloudBridge
let cloud: CloudSubscriber
let local: MqttClient

test.before(async () => {
  mosq = await Mosquitto.start()
  bus = await AedesBus.create()
  store = await LevelStore.create({ dataDir: await tmpDir('outage') })
  // A persistent session, so what mosquitto queues for the subscriber survives its restart.
  cloud = await CloudSubscriber.create(mosq.url, 'gateways/gw-out/#', {
    clientId: 'cloud-consumer', clean: false, reconnectPeriod: 100, properties: { sessionExpiryInterval: 3600 },
  })
  bridge = await CloudBridge.create({
    nodeId: 'gw-out',
    config: { url: mosq.url, inflight: WINDOW, backoff: { minMs: 50, maxMs: 300 }, forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }] },
    store,
    bus,
    log: testLogger(),
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'bridge connected')
  local = await connectClient(bus.url, { protocolVersion: 4, clientId: 'sensor-out' })
})

test.after(async () => {
  await local?.endAsync(true)
  await cloud?.close()
  await bridge?.close()
  await bus?.close()
  await store?.close()
  await mosq?.stop()
  await cleanupTmp()
})

test('cloud-bridge - 10,000 messages published during an outage all arrive in per-topic order', async () => {
  const n = 10_000
  const topics = 10
  await mosq.stop()
  await waitFor(() => !bridge.snapshot().connected, 5000, 'bridge sees the outage')

  const t0 = Date.now()
  const pubs: Array<Promise<unknown>> = []
  for (let i = 0; i < n; i++) pubs.push(local.publishAsync(`sensors/s${i % topics}`, String(i), { qos: 1 }))
  await Promise.all(pubs)
  const publishMs = Date.now() - t0
  const queued = bridge.ledger()
  assert.is(queued.queued, n, 'every acknowledged message is in the outbox')
  assert.ok(queued.balanced)

  let connectedAt = 0
  const off = bridge.statusStream.on((s) => { if (s.type === 'connected') connectedAt = Date.now() })
  await mosq.startAgain()
  await waitFor(() => bridge.ledger().queued === 0, 40_000, () => `drain: ${JSON.stringify(bridge.ledger())}`)
  const drainMs = Date.now() - connectedAt
  off()
  await waitFor(() => cloud.distinct() >= n, 20_000, () => `${cloud.distinct()}/${n} distinct at the cloud`)

  assert.is(cloud.distinct(), n, 'nothing lost')
  assert.is(cloud.orderViolations((r) => Number(r.payload.toString())), 0, 'per-topic order')
  assert.ok(cloud.duplicates() <= WINDOW, `duplicates ${cloud.duplicates()} ≤ window ${WINDOW}`)
  const ledger = bridge.ledger()
  assert.is(ledger.delivered, n)
  assert.ok(ledger.balanced)
  console.log(`  outage: published ${n} in ${publishMs} ms; drained in ${drainMs} ms (${Math.round(n / (drainMs / 1000))} msgs/s); duplicates ${cloud.duplicates()}`)
})

test.run()
