/**
 * An operator drops what the outbox holds during an outage ("Drop queued messages" in the web UI): every
 * queued message is counted as dropped by the admin, the ledger stays balanced, and after the cloud returns
 * only what was published after the drop reaches it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { waitFor } from './helpers.ts'
import { persistentCloud, startRig, type Rig } from './rig.ts'

let rig: Rig
test.before(async () => {
  rig = await startRig({ nodeId: 'gw-drop', cloudOptions: persistentCloud('drop-consumer'), config: { backoff: { minMs: 50, maxMs: 300 }, forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }] } })
})
test.after(async () => { await rig?.close() })

test('cloud-bridge - dropping the queued messages counts each as dropped.admin; later ones still arrive', async () => {
  const { mosq, bridge, cloud, local } = rig
  await mosq.stop()
  await waitFor(() => !rig.bridge.snapshot().connected, 5000, 'the outage')
  const n = 500
  await Promise.all(Array.from({ length: n }, (_, i) => local.publishAsync(`sensors/s${i % 5}`, `before-${i}`, { qos: 1 })))
  assert.is(bridge.ledger().queued, n)

  const dropped = await bridge.dropQueued()
  assert.is(dropped, n)
  const l = bridge.ledger()
  assert.is(l.queued, 0)
  assert.is(l.dropped.admin, n)
  assert.ok(l.balanced, JSON.stringify(l))

  await local.publishAsync('sensors/s0', 'after-0', { qos: 1 })
  await mosq.startAgain()
  await waitFor(() => cloud.distinct() >= 1 && bridge.ledger().queued === 0, 20_000, () => `after the drop: ${JSON.stringify(bridge.ledger())}`)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const payloads = cloud.received.map((r) => r.payload.toString())
  assert.equal([...new Set(payloads)], ['after-0'], 'nothing dropped was sent')
  const end = bridge.ledger()
  assert.is(end.delivered, 1)
  assert.ok(end.balanced)
})

test.run()
