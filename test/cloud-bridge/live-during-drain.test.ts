/**
 * Live publishes interleaved with the drain of a small backlog after a reconnect, against a real mosquitto:
 * the live messages must queue behind the backlog until it is gone and only then take the fast path (handed
 * to the sender with their write). Per-topic order holds and nothing is lost.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import type { CloudBridge } from '../../cloud-bridge/index.ts'
import type { Mosquitto } from '../helpers/mosquitto.ts'
import { type CloudSubscriber, sleep, waitFor } from './helpers.ts'
import { persistentCloud, startRig, type Rig } from './rig.ts'

const WINDOW = 16
let rig: Rig
let mosq: Mosquitto
let bridge: CloudBridge
let cloud: CloudSubscriber
let local: MqttClient

test.before(async () => {
  rig = await startRig({ nodeId: 'gw-ld', cloudOptions: persistentCloud('cloud-ld'), config: { inflight: WINDOW, backoff: { minMs: 50, maxMs: 200 }, forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }] } })
  ;({ mosq, bridge, cloud, local } = rig)
})

test.after(async () => { await rig?.close() })

test('cloud-bridge - live publishes during the drain of a backlog keep per-topic order and lose nothing', async () => {
  const topics = 5
  let i = 0
  const publish = (): Promise<unknown> => { const k = i++; return local.publishAsync(`sensors/s${k % topics}`, String(k), { qos: 1 }) }

  await mosq.stop()
  await waitFor(() => !bridge.snapshot().connected, 5000, 'bridge sees the outage')
  const backlog = 400
  await Promise.all(Array.from({ length: backlog }, publish))
  assert.is(bridge.ledger().queued, backlog)

  const handedBefore = bridge.stats().handedOver
  await mosq.startAgain()
  // Keep publishing in small bursts from before the reconnect until well after the backlog is gone.
  const pending: Array<Promise<unknown>> = []
  const until = Date.now() + 2500
  let drainedAt = 0
  while (Date.now() < until) {
    for (let j = 0; j < 1 + (i % 7); j++) pending.push(publish())
    if (drainedAt === 0 && bridge.snapshot().connected && bridge.ledger().delivered >= backlog) drainedAt = i
    await sleep(5)
  }
  await Promise.all(pending)
  const total = i
  await waitFor(() => bridge.ledger().queued === 0 && cloud.distinct() >= total, 20_000, () => `${cloud.distinct()}/${total} at the cloud, ${JSON.stringify(bridge.ledger())}`)

  assert.ok(total > backlog + 200, `${total - backlog} live messages`)
  assert.ok(drainedAt > 0, 'live traffic continued after the backlog drained')
  assert.is(cloud.distinct(), total, 'nothing lost')
  assert.is(cloud.orderViolations((r) => Number(r.payload.toString())), 0, 'per-topic order')
  assert.ok(cloud.duplicates() <= WINDOW, `duplicates ${cloud.duplicates()} ≤ window`)
  const ledger = bridge.ledger()
  assert.ok(ledger.balanced)
  assert.is(ledger.delivered, total)
  assert.ok(bridge.stats().handedOver > handedBefore, 'live messages took the fast path once caught up')
})

test.run()
