/** A link cut every few hundred ms by a TCP proxy during a 5,000-message run: nothing lost, order kept. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import type { CloudBridge } from '../../cloud-bridge/index.ts'
import type { TcpProxy } from '../helpers/tcp-proxy.ts'
import { type CloudSubscriber, sleep, waitFor } from './helpers.ts'
import { startRig, type Rig } from './rig.ts'

const WINDOW = 32
let rig: Rig
let proxy: TcpProxy
let bridge: CloudBridge
let cloud: CloudSubscriber
let local: MqttClient

test.before(async () => {
  rig = await startRig({ nodeId: 'gw-flap', proxy: true, config: { inflight: WINDOW, backoff: { minMs: 20, maxMs: 100 }, forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }] } })
  ;({ proxy, bridge, cloud, local } = rig as Rig & { proxy: TcpProxy })
})

test.after(async () => { await rig?.close() })

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
