/**
 * Broker persistence across restarts: every kind of session state is back after the store is reopened, and an
 * aedes broker killed with SIGKILL delivers a persistent subscriber's queue, in order, once restarted.
 *
 * The killed broker is this same file run in a child process (MECHA_TEST_BROKER_DATA_DIR set): it serves
 * aedes over LevelPersistence on 127.0.0.1, port 0, and prints `READY <port>`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { connect, connectAsync, type MqttClient } from 'mqtt'
import { LevelStore, type Store } from '../../core/store/index.ts'
import { LevelPersistence, type BrokerPacket } from '../../edge/broker/persistence/index.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { track } from '../helpers/children.ts'

const CHILD_DATA_DIR = process.env.MECHA_TEST_BROKER_DATA_DIR

if (CHILD_DATA_DIR !== undefined) {
  await serveBroker(CHILD_DATA_DIR)
} else {
  defineTests()
  test.run()
}

// ---------------------------------------------------------------- child mode

async function serveBroker (dataDir: string): Promise<void> {
  const { Aedes } = await import('aedes')
  const store = await LevelStore.create({ dataDir })
  const persistence = await LevelPersistence.create(store.namespace('broker'))
  const broker = await Aedes.createBroker({ persistence })
  const server = createServer(broker.handle)
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`)
  })
}

// ---------------------------------------------------------------- helpers

interface Opened { store: Store; p: LevelPersistence }

async function open (dataDir: string, brokerId = 'broker-a'): Promise<Opened> {
  const store = await LevelStore.create({ dataDir })
  const p = await LevelPersistence.create(store.namespace('broker'))
  await p.setup({ id: brokerId })
  return { store, p }
}

/** Closes and reopens, as a restart does (a new broker id, as aedes picks one per start). */
async function reopen (dataDir: string, o: Opened): Promise<Opened> {
  await o.p.destroy()
  await o.store.close()
  return await open(dataDir, 'broker-b')
}

async function list<T> (stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of stream) out.push(item)
  return out
}

function publish (topic: string, payload: string, extra: Partial<BrokerPacket> = {}): BrokerPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false, brokerId: 'broker-a', brokerCounter: 0, ...extra }
}

interface BrokerProc { child: ChildProcess; port: number; url: string }
const children = new Set<ChildProcess>()

async function startBroker (dataDir: string): Promise<BrokerProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, MECHA_TEST_BROKER_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  child.on('exit', () => children.delete(child))
  track(child, 'broker process') // also killed if the file ends before its after hook runs
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${out}`)), 20_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /READY (\d+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`broker exited with ${String(code)}: ${out}`)) })
  })
  return { child, port, url: `mqtt://127.0.0.1:${port}` }
}

async function kill9 (b: BrokerProc): Promise<void> {
  if (b.child.exitCode !== null || b.child.signalCode !== null) return
  const exited = once(b.child, 'exit')
  b.child.kill('SIGKILL')
  await exited
}

async function waitFor (what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function connectSession (url: string, clientId: string, onMessage: (topic: string, payload: Buffer, qos: number) => void): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  const client = connect(url, { clientId, clean: false, reconnectPeriod: 0 })
  client.on('message', (topic, payload, packet) => onMessage(topic, payload, packet.qos))
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('error', reject)
  })
  return { client, sessionPresent: connack.sessionPresent }
}

// ---------------------------------------------------------------- tests

function defineTests (): void {
  test.after(async () => {
    for (const child of children) child.kill('SIGKILL')
    await cleanupTmp()
  })

  test('broker-persistence - retained messages survive a reopen, an empty payload deletes', async () => {
    const dir = await tmpDir('bp-retained')
    let o = await open(dir)
    await o.p.storeRetained(publish('a/1', 'one', { retain: true }))
    await o.p.storeRetained(publish('a/2', 'two', { retain: true }))
    await o.p.storeRetained(publish('a/2', '', { retain: true }))
    await o.p.storeRetained(publish('b/1', 'bee', { retain: true }))
    o = await reopen(dir, o)
    const got = await list<BrokerPacket>(o.p.createRetainedStreamCombi(['a/+', 'b/#']))
    assert.equal(got.map((p) => [p.topic, String(p.payload)]), [['a/1', 'one'], ['b/1', 'bee']])
    assert.ok(Buffer.isBuffer(got[0].payload), 'payload is a Buffer again')
    await o.p.destroy(); await o.store.close()
  })

  test('broker-persistence - subscriptions survive a reopen and match again', async () => {
    const dir = await tmpDir('bp-subs')
    let o = await open(dir)
    await o.p.addSubscriptions({ id: 'c1' }, [{ topic: 's/#', qos: 1 }, { topic: 's/zero', qos: 0 }, { topic: 'gone', qos: 2 }])
    await o.p.addSubscriptions({ id: 'c2' }, [{ topic: 's/+', qos: 2, subscriptionIdentifier: 7 }])
    await o.p.removeSubscriptions({ id: 'c1' }, ['gone'])
    await o.p.addSubscriptions({ id: 'c3' }, [{ topic: 'x', qos: 1 }])
    await o.p.cleanSubscriptions({ id: 'c3' })
    o = await reopen(dir, o)
    const c1 = await o.p.subscriptionsByClient({ id: 'c1' })
    assert.equal(c1.sort((a, b) => a.topic.localeCompare(b.topic)), [{ topic: 's/#', qos: 1 }, { topic: 's/zero', qos: 0 }])
    assert.equal(await o.p.subscriptionsByClient({ id: 'c2' }), [{ topic: 's/+', qos: 2, subscriptionIdentifier: 7 }])
    assert.equal(await o.p.subscriptionsByClient({ id: 'c3' }), [])
    const matched = (await o.p.subscriptionsByTopic('s/zero')).map((s) => `${s.clientId}:${s.topic}:${String(s.qos)}`).sort()
    assert.equal(matched, ['c1:s/#:1', 'c2:s/+:2'], 'QoS 0 subscriptions are restored but not matched')
    assert.equal(await o.p.countOffline(), { subsCount: 2, clientsCount: 2 })
    await o.p.destroy(); await o.store.close()
  })

  test('broker-persistence - session queues keep their order and packet ids across a reopen', async () => {
    const dir = await tmpDir('bp-outgoing')
    let o = await open(dir)
    // client ids that are prefixes of each other, or hold the separator, keep separate queues
    const ids = ['abc', 'abcd', 'a\u0000b', 'a\u0001']
    for (let i = 0; i < 6; i++) {
      await o.p.outgoingEnqueueCombi(ids.map((clientId) => ({ clientId, qos: 1 })), publish('t', `m${i}`, { brokerCounter: i + 1 }))
    }
    // the broker sends the first three to abc and records their packet ids, then m0 is acknowledged
    for (let i = 0; i < 3; i++) await o.p.outgoingUpdate({ id: 'abc' }, publish('t', `m${i}`, { brokerCounter: i + 1, messageId: 100 + i }))
    await o.p.outgoingClearMessageId({ id: 'abc' }, { messageId: 100 })
    // a QoS 2 packet of abcd got its PUBREC: the queue now holds its PUBREL
    await o.p.outgoingUpdate({ id: 'abcd' }, publish('t', 'm0', { brokerCounter: 1, messageId: 7 }))
    await o.p.outgoingUpdate({ id: 'abcd' }, { cmd: 'pubrel', messageId: 7 })
    o = await reopen(dir, o)
    const abc = await list<BrokerPacket>(o.p.outgoingStream({ id: 'abc' }))
    assert.equal(abc.map((p) => [String(p.payload), p.messageId]), [['m1', 101], ['m2', 102], ['m3', undefined], ['m4', undefined], ['m5', undefined]])
    const abcd = await list<BrokerPacket>(o.p.outgoingStream({ id: 'abcd' }))
    assert.equal(abcd[0], { cmd: 'pubrel', messageId: 7 })
    assert.equal(abcd.slice(1).map((p) => String(p.payload)), ['m1', 'm2', 'm3', 'm4', 'm5'])
    for (const id of ['a\u0000b', 'a\u0001']) {
      assert.equal((await list<BrokerPacket>(o.p.outgoingStream({ id }))).map((p) => String(p.payload)), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'], JSON.stringify(id))
    }
    // after the restart the restored packets are still found by broker counter and by packet id
    await o.p.outgoingUpdate({ id: 'abc' }, publish('t', 'm3', { brokerCounter: 4, messageId: 5 }))
    assert.is(String((await o.p.outgoingClearMessageId({ id: 'abc' }, { messageId: 5 }))?.payload), 'm3')
    // what is enqueued after the restart goes after what was restored
    await o.p.outgoingEnqueue({ clientId: 'abc', qos: 1 }, publish('t', 'later', { brokerCounter: 1, brokerId: 'broker-b' }))
    const after = await list<BrokerPacket>(o.p.outgoingStream({ id: 'abc' }))
    assert.equal(after.map((p) => String(p.payload)), ['m1', 'm2', 'm4', 'm5', 'later'])
    await o.p.destroy(); await o.store.close()
  })

  test('broker-persistence - a queued copy is one per client, at the granted QoS', async () => {
    const dir = await tmpDir('bp-qos')
    const o = await open(dir)
    // c1 matched by two of its filters: one copy, at the higher QoS [MQTT-3.3.5-1]; c2 granted QoS 1 only
    await o.p.outgoingEnqueueCombi([{ clientId: 'c1', qos: 1 }, { clientId: 'c1', qos: 2 }, { clientId: 'c2', qos: 1 }], publish('t', 'x', { qos: 2 }))
    assert.equal((await list<BrokerPacket>(o.p.outgoingStream({ id: 'c1' }))).map((p) => p.qos), [2])
    assert.equal((await list<BrokerPacket>(o.p.outgoingStream({ id: 'c2' }))).map((p) => p.qos), [1])
    await o.p.destroy(); await o.store.close()
  })

  test('broker-persistence - incoming QoS 2 packets survive a reopen', async () => {
    const dir = await tmpDir('bp-incoming')
    let o = await open(dir)
    await o.p.incomingStorePacket({ id: 'c1' }, publish('in', 'one', { qos: 2, messageId: 1 }))
    await o.p.incomingStorePacket({ id: 'c1' }, publish('in', 'two', { qos: 2, messageId: 2 }))
    await o.p.incomingStorePacket({ id: 'c10' }, publish('in', 'other', { qos: 2, messageId: 1 }))
    await o.p.incomingDelPacket({ id: 'c1' }, { messageId: 1 })
    o = await reopen(dir, o)
    assert.is(String((await o.p.incomingGetPacket({ id: 'c1' }, { messageId: 2 })).payload), 'two')
    assert.is((await o.p.incomingGetPacket({ id: 'c1' }, { messageId: 2 })).messageId, 2)
    try {
      await o.p.incomingGetPacket({ id: 'c1' }, { messageId: 1 })
      assert.unreachable('packet 1 was released')
    } catch (err) {
      assert.is((err as { code?: string }).code, 'MECHA_ERR_MQTT_UNKNOWN_PACKET')
    }
    await o.p.cleanIncoming({ id: 'c1' })
    o = await reopen(dir, o)
    await o.p.incomingGetPacket({ id: 'c1' }, { messageId: 2 }).then(() => assert.unreachable('cleaned'), () => {})
    assert.is(String((await o.p.incomingGetPacket({ id: 'c10' }, { messageId: 1 })).payload), 'other')
    await o.p.destroy(); await o.store.close()
  })

  test('broker-persistence - wills survive a reopen and stream for dead brokers', async () => {
    const dir = await tmpDir('bp-wills')
    let o = await open(dir)
    await o.p.putWill({ id: 'c1' }, { topic: 'dead/c1', payload: Buffer.from('bye'), qos: 1, retain: false })
    await o.p.putWill({ id: 'c2' }, { topic: 'dead/c2', payload: Buffer.from('bye2'), qos: 0, retain: true })
    await o.p.delWill({ id: 'c2' })
    o = await reopen(dir, o)
    const will = await o.p.getWill({ id: 'c1' })
    assert.equal(will, { topic: 'dead/c1', payload: Buffer.from('bye'), qos: 1, retain: false, brokerId: 'broker-a', clientId: 'c1' })
    assert.is(await o.p.getWill({ id: 'c2' }), undefined)
    assert.equal((await list<BrokerPacket>(o.p.streamWill({ 'broker-b': Date.now() }))).map((w) => w.clientId), ['c1'])
    assert.equal(await list<BrokerPacket>(o.p.streamWill({ 'broker-a': Date.now() })), [])
    await o.p.destroy(); await o.store.close()
  })

  test('broker-persistence - destroy waits for writes, is idempotent, and refuses later writes', async () => {
    const dir = await tmpDir('bp-destroy')
    const o = await open(dir)
    const pending = o.p.storeRetained(publish('r', 'v', { retain: true }))
    await o.p.destroy()
    await pending
    await o.p.destroy()
    await o.p.storeRetained(publish('r', 'w', { retain: true })).then(() => assert.unreachable('destroyed'), (err) => {
      assert.is(err.code, 'MECHA_ERR_STORE_CLOSED')
    })
    await o.store.close()
  })

  test('broker-persistence - a persistent session gets its queue in order after the broker is killed with SIGKILL', async () => {
    const dir = await tmpDir('bp-kill9')
    const N = 25
    let broker = await startBroker(dir)

    // a persistent QoS 1 subscriber goes offline
    const first = await connectSession(broker.url, 'sub-1', () => {})
    await first.client.subscribeAsync('sensors/#', { qos: 1 })
    await first.client.endAsync()

    // QoS 2: PUBREC follows the broker's publish, so each message is queued on disk once publishAsync resolves
    const pub = await connectAsync(broker.url, { clientId: 'pub-1', reconnectPeriod: 0 })
    for (let i = 0; i < N; i++) await pub.publishAsync('sensors/t', `m${i}`, { qos: 2 })
    await pub.publishAsync('config/site', 'retained-v1', { qos: 2, retain: true })

    await kill9(broker)
    pub.end(true)
    broker = await startBroker(dir)

    const received: Array<{ payload: string; qos: number }> = []
    const second = await connectSession(broker.url, 'sub-1', (_t, payload, qos) => received.push({ payload: payload.toString(), qos }))
    assert.ok(second.sessionPresent, 'the session was restored [MQTT-3.2.2-2]')
    await waitFor(`${N} messages (got ${received.length})`, () => received.length >= N)
    assert.equal(received.map((m) => m.payload), Array.from({ length: N }, (_, i) => `m${i}`), 'every message, in order')
    assert.ok(received.every((m) => m.qos === 1), 'delivered at the granted QoS 1')

    // the retained message survived too
    const fresh = await connectAsync(broker.url, { clientId: 'fresh', clean: true, reconnectPeriod: 0 })
    const retained = new Promise<[string, string, boolean]>((resolve) => {
      fresh.on('message', (topic, payload, packet) => resolve([topic, payload.toString(), packet.retain]))
    })
    await fresh.subscribeAsync('config/#', { qos: 1 })
    assert.equal(await retained, ['config/site', 'retained-v1', true])
    await fresh.endAsync()

    // acknowledged messages are gone for good: after another kill -9 nothing is redelivered
    await second.client.endAsync()
    await new Promise((r) => setTimeout(r, 300)) // let the broker finish the PUBACKs it read with the DISCONNECT
    await kill9(broker)
    broker = await startBroker(dir)
    const again: string[] = []
    const third = await connectSession(broker.url, 'sub-1', (_t, payload) => again.push(payload.toString()))
    assert.ok(third.sessionPresent)
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(again, [], 'nothing acknowledged is redelivered')
    await third.client.endAsync()
    await kill9(broker)
  })
}
