/** Bad input and faults: refused messages, refused connections, corrupt outbox entries, fallback URLs, 3.1.1 envelopes. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryStore } from '../../core/store/index.ts'
import { entryKey } from '../../cloud-bridge/outbox-entry.ts'
import { CloudBridge, unwrapEnvelope, type CloudStatus } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto, freePort } from '../helpers/mosquitto.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { CloudSubscriber, testLogger, waitFor } from './helpers.ts'

let bus: AedesBus
test.before(async () => { bus = await AedesBus.create() })
test.after(async () => { await bus?.close(); await cleanupTmp() })

const msg = (topic: string, payload: string): { topic: string; payload: Buffer; qos: 1; retain: false } => ({ topic, payload: Buffer.from(payload), qos: 1, retain: false })

test('cloud-bridge - a message the cloud refuses (MQTT 5 reason code) is dead-lettered locally and counted', async () => {
  // Anonymous clients may write only under gw/ok/: mosquitto answers other publishes with PUBACK 0x87.
  const mosq = await Mosquitto.start({ acl: ['topic write gw/ok/#', 'topic read #'] })
  const store = await MemoryStore.create()
  const dead: Array<Record<string, unknown>> = []
  const off = await bus.subscribe('mecha/cloud/rejected', (m) => { dead.push(JSON.parse(m.payload.toString()) as Record<string, unknown>) })
  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#')
  const bridge = await CloudBridge.create({
    nodeId: 'gw-acl', config: { url: mosq.url, forward: [{ from: 'ok/#', to: 'gw/ok/' }, { from: 'bad/#', to: 'gw/bad/' }] }, store, bus, log: testLogger(),
  })
  await bus.publish(msg('ok/1', 'a'))
  await bus.publish(msg('bad/1', 'secret'))
  await bus.publish(msg('ok/1', 'b'))
  await waitFor(() => dead.length === 1 && cloud.received.length === 2, 5000, () => `dead ${dead.length}, cloud ${cloud.received.length}`)
  assert.is(dead[0].topic, 'bad/1')
  assert.is(dead[0].cloudTopic, 'gw/bad/1')
  assert.is(dead[0].reasonCode, 0x87)
  assert.is(Buffer.from(dead[0].payload as string, 'base64').toString(), 'secret')
  assert.equal(cloud.received.map((r) => r.payload.toString()), ['a', 'b'])
  await waitFor(() => bridge.ledger().queued === 0, 2000, 'drained')
  const ledger = bridge.ledger()
  assert.is(ledger.dropped.refused, 1)
  assert.is(ledger.delivered, 2)
  assert.ok(ledger.balanced)
  await off(); await cloud.close(); await bridge.close(); await store.close(); await mosq.stop()
})

test('cloud-bridge - a refused connection is reported with its reason and retried with backoff', async () => {
  const mosq = await Mosquitto.start({ users: { bridge: 'right' } })
  const store = await MemoryStore.create()
  const statuses: CloudStatus[] = []
  const delays: Array<[number, number]> = []
  const bridge = await CloudBridge.create({
    nodeId: 'gw-auth', config: { url: mosq.url, username: 'bridge', password: 'wrong', forward: [{ from: 'x/#' }] }, store, bus, log: testLogger(),
    delay: (attempt, prev) => { delays.push([attempt, prev]); return Math.min(400, 25 * 2 ** attempt) },
  })
  bridge.statusStream.on((s) => statuses.push(s))
  await waitFor(() => delays.length >= 3, 5000, 'three retries')
  const refused = statuses.find((s) => s.type === 'disconnected') as Extract<CloudStatus, { type: 'disconnected' }>
  assert.ok(refused !== undefined)
  assert.match(refused.reason, /bad user name or password|not authorized/)
  assert.ok(refused.code === 134 || refused.code === 135, String(refused.code))
  const backoffs = statuses.filter((s) => s.type === 'backoff') as Array<Extract<CloudStatus, { type: 'backoff' }>>
  assert.ok(backoffs.length >= 2)
  assert.ok(backoffs[1].delayMs > backoffs[0].delayMs, 'delays grow')
  assert.ok(backoffs[0].nextAttemptAt >= backoffs[0].at)
  assert.equal(delays.slice(0, 3).map((d) => d[0]), [1, 2, 3], 'attempts counted')
  assert.not.ok(bridge.snapshot().connected)
  await bridge.close(); await store.close(); await mosq.stop()
})

test('cloud-bridge - a corrupt outbox entry is quarantined and counted without blocking the queue', async () => {
  const mosq = await Mosquitto.start()
  const proxy = await TcpProxy.create(mosq.port)
  proxy.pause()
  const store = await MemoryStore.create()
  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#')
  const bridge = await CloudBridge.create({
    nodeId: 'gw-cor', config: { url: `mqtt://127.0.0.1:${proxy.port}`, backoff: { minMs: 20, maxMs: 40 }, forward: [{ from: 's/#', to: 'gw/' }] }, store, bus, log: testLogger(),
  })
  for (let i = 0; i < 5; i++) await bus.publish(msg('s/t', String(i)))
  await bridge.flushed()
  const ns = store.namespace('cloud-outbox')
  // Flip a byte in the third entry's value: its checksum no longer matches.
  const key = entryKey(5, 3)
  const raw = Buffer.from(await ns.get(key) as Buffer)
  raw[raw.length - 3] ^= 0xff
  await ns.put(key, raw)
  proxy.resume()
  await waitFor(() => cloud.received.length >= 4, 5000, () => `${cloud.received.length}/4`)
  await waitFor(() => bridge.ledger().queued === 0, 2000, 'drained')
  assert.equal(cloud.received.map((r) => r.payload.toString()), ['0', '1', '3', '4'])
  const ledger = bridge.ledger()
  assert.is(ledger.dropped.corrupt, 1)
  assert.ok(ledger.balanced)
  let quarantined = 0
  for await (const k of ns.keys({ prefix: 'x/' })) { assert.is(k, 'x/' + key); quarantined++ }
  assert.is(quarantined, 1)
  await cloud.close(); await bridge.close(); await store.close(); await proxy.close(); await mosq.stop()
})

test('cloud-bridge - falls back to the next URL and speaks MQTT 3.1.1 with an envelope carrying the id', async () => {
  const mosq = await Mosquitto.start()
  const store = await MemoryStore.create()
  const dead = await freePort()
  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#')
  const bridge = await CloudBridge.create({
    nodeId: 'gw-fb',
    config: { url: `mqtt://127.0.0.1:${dead}`, fallbackUrls: [mosq.url], protocolVersion: 4, envelope: 'json', backoff: { minMs: 20, maxMs: 40 }, forward: [{ from: 's/#', to: 'gw/' }] },
    store, bus, log: testLogger(),
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'connected through the fallback')
  assert.is(bridge.snapshot().url, mosq.url)
  await bus.publish(msg('s/t', 'hello'))
  await waitFor(() => cloud.received.length === 1, 5000, 'delivered')
  const env = unwrapEnvelope('json', cloud.received[0].payload)
  assert.is(env.payload.toString(), 'hello')
  assert.is(env.topic, 's/t')
  assert.match(env.id, /^[0-9a-f]{8}-1$/)
  assert.is(cloud.received[0].id, undefined, 'no user properties on 3.1.1')
  await cloud.close(); await bridge.close(); await store.close(); await mosq.stop()
})

test.run()
