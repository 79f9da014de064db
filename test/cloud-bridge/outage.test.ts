/** A cloud outage: 10,000 QoS 1 messages published while mosquitto is down all arrive, in per-topic order. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import type { CloudBridge } from '../../cloud-bridge/index.ts'
import type { Mosquitto } from '../helpers/mosquitto.ts'
import { type CloudSubscriber, waitFor } from './helpers.ts'
import { persistentCloud, startRig, type Rig } from './rig.ts'

const WINDOW = 32
let rig: Rig
let mosq: Mosquitto
let bridge: CloudBridge
let cloud: CloudSubscriber
let local: MqttClient

test.before(async () => {
  rig = await startRig({ nodeId: 'gw-out', cloudOptions: persistentCloud('cloud-consumer'), config: { inflight: WINDOW, backoff: { minMs: 50, maxMs: 300 }, forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }] } })
  ;({ mosq, bridge, cloud, local } = rig)
})

test.after(async () => { await rig?.close() })

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
