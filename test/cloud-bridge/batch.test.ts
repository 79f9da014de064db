/** CBOR batching for thin links: several messages per publish, decodable with cloud-bridge/batch-codec.ts. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryStore } from '../../core/store/index.ts'
import { CloudBridge, decodeBatch, encodeBatch } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { CloudSubscriber, testLogger, waitFor } from './helpers.ts'

test.after(async () => { await cleanupTmp() })

test('batch-codec - round-trips a batch', () => {
  const bytes = encodeBatch('gw-1', [{ id: 'a-1', topic: 't/1', payload: Buffer.from('x'), ts: 5 }])
  const b = decodeBatch(bytes)
  assert.is(b.node, 'gw-1')
  assert.is(b.messages.length, 1)
  assert.is(Buffer.from(b.messages[0].payload).toString(), 'x')
  assert.throws(() => decodeBatch(Buffer.from([0xa0])), TypeError)
})

test('cloud-bridge - a batching rule packs messages into CBOR batches, in order, and reports the bytes saved', async () => {
  const mosq = await Mosquitto.start()
  const bus = await AedesBus.create()
  const store = await MemoryStore.create()
  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#')
  const bridge = await CloudBridge.create({
    nodeId: 'gw-b',
    config: { url: mosq.url, forward: [{ from: 's/#', to: 'gw/', batch: { maxMessages: 50, maxDelayMs: 150 } }] },
    store, bus, log: testLogger(),
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'connected')
  const n = 120
  await Promise.all(Array.from({ length: n }, (_, i) => bus.publish({ topic: `s/t${i % 3}`, payload: Buffer.from(`reading ${i}`), qos: 1, retain: false })))
  await waitFor(() => bridge.ledger().delivered === n, 5000, () => JSON.stringify(bridge.ledger()))
  const batches = cloud.received.map((r) => { assert.is(r.topic, 'gw/batch'); return decodeBatch(r.payload) })
  const messages = batches.flatMap((b) => b.messages)
  assert.is(messages.length, n)
  assert.ok(batches.length >= 3 && batches.length < n, `${batches.length} batches`)
  assert.ok(batches.every((b) => b.messages.length <= 50))
  assert.equal(messages.map((m) => Buffer.from(m.payload).toString()), Array.from({ length: n }, (_, i) => `reading ${i}`))
  assert.equal(messages[0].topic, 'gw/t0')
  assert.ok(bridge.stats().bytesSaved > 0, 'bytes saved reported')
  // A lone message goes out once its maxDelayMs passed.
  const t0 = Date.now()
  await bus.publish({ topic: 's/t0', payload: Buffer.from('late'), qos: 1, retain: false })
  await waitFor(() => bridge.ledger().delivered === n + 1, 3000, 'lone message')
  assert.ok(Date.now() - t0 >= 100, 'waited for a fuller batch')
  await cloud.close(); await bridge.close(); await bus.close(); await store.close(); await mosq.stop()
})

test('cloud-bridge - a backlog queued during an outage drains as full batches, every message once and in order', async () => {
  const mosq = await Mosquitto.start()
  const bus = await AedesBus.create()
  const store = await MemoryStore.create()
  // The bridge reaches mosquitto through a proxy, held closed while mosquitto restarts so that the consumer is
  // subscribed again before the backlog starts to drain.
  const proxy = await TcpProxy.create(mosq.port)
  const bridge = await CloudBridge.create({
    nodeId: 'gw-bo',
    config: { url: `mqtt://127.0.0.1:${proxy.port}`, backoff: { minMs: 30, maxMs: 100 }, forward: [{ from: 's/#', to: 'gw/', batch: { maxMessages: 50, maxDelayMs: 60_000 } }] },
    store, bus, log: testLogger(),
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'connected')
  await mosq.stop()
  await waitFor(() => !bridge.snapshot().connected, 5000, 'disconnected')
  const n = 300
  for (let i = 0; i < n; i++) await bus.publish({ topic: `s/t${i % 3}`, payload: Buffer.from(`reading ${i}`), qos: 1, retain: false })
  await bridge.flushed()
  assert.is(bridge.ledger().queued, n)
  assert.is(bridge.stats().batches, 0)

  proxy.pause()
  await mosq.startAgain()
  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#')
  proxy.resume()
  await waitFor(() => bridge.ledger().delivered === n, 10_000, () => JSON.stringify(bridge.ledger()))
  await waitFor(() => cloud.received.length >= 6, 5000, () => `${cloud.received.length} batches at the cloud`)
  const batches = cloud.received.map((r) => { assert.is(r.topic, 'gw/batch'); return decodeBatch(r.payload) })
  // A backlog fills every batch (maxMessages, not maxDelayMs, closes them; 60 s of delay would time the test out).
  assert.equal(batches.map((b) => b.messages.length), [50, 50, 50, 50, 50, 50])
  const messages = batches.flatMap((b) => b.messages)
  assert.equal(messages.map((m) => Buffer.from(m.payload).toString()), Array.from({ length: n }, (_, i) => `reading ${i}`))
  assert.is(new Set(messages.map((m) => m.id)).size, n, 'each message once')
  await bridge.flushed()
  const ledger = bridge.ledger()
  assert.is(ledger.accepted, n)
  assert.is(ledger.queued, 0)
  assert.ok(ledger.balanced, JSON.stringify(ledger))
  assert.is(bridge.stats().batches, 6)
  assert.ok(bridge.stats().bytesSaved > 0)
  await cloud.close(); await bridge.close(); await proxy.close(); await bus.close(); await store.close(); await mosq.stop()
})

test.run()
