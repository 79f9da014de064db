/** Live forwarding and receiving against a real mosquitto as the cloud broker. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import { MemoryStore } from '../../core/store/index.ts'
import { CloudBridge, type CloudStatus } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { CloudSubscriber, connectClient, testLogger, waitFor } from './helpers.ts'

let mosq: Mosquitto
let bus: AedesBus
let store: MemoryStore
let bridge: CloudBridge
let cloud: CloudSubscriber
let local: MqttClient
const statuses: CloudStatus[] = []

test.before(async () => {
  mosq = await Mosquitto.start()
  bus = await AedesBus.create()
  store = await MemoryStore.create()
  cloud = await CloudSubscriber.create(mosq.url, 'gateways/gw-live/#')
  bridge = await CloudBridge.create({
    nodeId: 'gw-live',
    config: {
      url: mosq.url,
      backoff: { minMs: 50, maxMs: 500 },
      forward: [{ from: 'sensors/#', to: 'gateways/{id}/' }, { from: 'cmd/#', to: 'gateways/{id}/echo/' }],
      receive: [{ from: 'gateways/{id}/cmd/#', to: 'cmd/' }],
    },
    store,
    bus,
    log: testLogger(),
  })
  bridge.statusStream.on((s) => statuses.push(s))
  await waitFor(() => bridge.snapshot().connected, 5000, 'bridge connected')
  local = await connectClient(bus.url, { protocolVersion: 4, clientId: 'sensor-1' })
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

test('cloud-bridge - forwards live QoS 1 messages in order with a stable mecha-id', async () => {
  const n = 500
  await Promise.all(Array.from({ length: n }, (_, i) => local.publishAsync(`sensors/${i % 2 === 0 ? 'a' : 'b'}`, String(i), { qos: 1 })))
  await waitFor(() => cloud.received.length >= n, 10_000, () => `${cloud.received.length}/${n} at the cloud`)
  assert.is(cloud.received.length, n)
  assert.equal(new Set(cloud.received.map((r) => r.topic)), new Set(['gateways/gw-live/a', 'gateways/gw-live/b']))
  assert.is(cloud.orderViolations((r) => Number(r.payload.toString())), 0, 'per-topic order')
  assert.ok(cloud.received.every((r) => typeof r.id === 'string' && /^[0-9a-f]{8}-\d+$/.test(r.id)), 'every message has a mecha-id')
  assert.is(cloud.distinct(), n)
  await waitFor(() => bridge.ledger().delivered === n, 5000, 'ledger delivered')
  const ledger = bridge.ledger()
  assert.is(ledger.accepted, n)
  assert.is(ledger.queued, 0)
  assert.ok(ledger.balanced)
})

test('cloud-bridge - receive rules map cloud topics to local ones and never forward them back', async () => {
  const got: string[] = []
  const off = await bus.subscribe('cmd/#', (m) => { got.push(`${m.topic}=${m.payload.toString()}`) })
  const before = bridge.ledger().accepted
  const pub = await connectClient(mosq.url, { protocolVersion: 5 })
  await pub.publishAsync('gateways/gw-live/cmd/reboot', 'now', { qos: 1 })
  await waitFor(() => got.length === 1, 5000, 'command delivered locally')
  assert.equal(got, ['cmd/reboot=now'])
  // `cmd/#` is also a forward rule: a message from the cloud must still not go back up.
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.is(bridge.ledger().accepted, before)
  assert.not.ok(cloud.received.some((r) => r.topic.startsWith('gateways/gw-live/echo/')))
  await pub.endAsync(true)
  await off()
})

test('cloud-bridge - status is a stream and retained on mecha/cloud/status', async () => {
  assert.ok(statuses.some((s) => s.type === 'connected'))
  const watcher = await connectClient(bus.url, { protocolVersion: 4 })
  const retained = await new Promise<CloudStatus>((resolve) => {
    watcher.on('message', (_t, payload, packet) => { if (packet.retain) resolve(JSON.parse(payload.toString()) as CloudStatus) })
    void watcher.subscribeAsync('mecha/cloud/status', { qos: 0 })
  })
  assert.ok(['connected', 'drained', 'draining'].includes(retained.type), retained.type)
  await watcher.endAsync(true)
  // The async iterator starts with the current status.
  const it = bridge.statusStream[Symbol.asyncIterator]()
  const first = await it.next()
  assert.is(first.done, false)
  await it.return?.()
})

test.run()
