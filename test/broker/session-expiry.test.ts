/**
 * Persistent session expiry (`mqtt.sessionExpirySeconds`): a CleanSession=0 client offline longer than the expiry
 * loses its session — subscriptions, queue (its LevelDB entries too), QoS 2 state, will — counted and logged; one
 * back in time keeps everything; the offline time survives a restart. A ManualClock drives the sweeps, so
 * nothing here sleeps for the expiry; the last test runs the whole runtime on the real clock with a 1 s expiry.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt'
import { ManualClock } from '../../core/clock.ts'
import { parseConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { Metrics } from '../../core/metrics.ts'
import { LevelStore, type Store } from '../../core/store/index.ts'
import { MqttBroker } from '../../edge/broker/index.ts'
import { LevelPersistence } from '../../edge/broker/persistence/index.ts'
import { clientPrefix } from '../../edge/broker/persistence/keys.ts'
import { startRuntime, testConfig } from '../helpers/runtime.ts'
import { closeAll, collect, connect, onceOn } from '../helpers/mqtt.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { metricValue } from '../helpers/prometheus.ts'
import { metricsText } from '../helpers/runtime-view.ts'

test.after(cleanupTmp)

const EXPIRY_S = 3600
/** The sweep interval SessionExpiry picks for a one-hour expiry (a quarter of it, at most 60 s). */
const SWEEP_MS = 60_000
const T0 = Date.UTC(2024, 0, 1)

interface Node { store: Store; p: LevelPersistence; broker: MqttBroker; metrics: Metrics; logs: string[]; url: string }

async function start (dataDir: string, clock: ManualClock, expirySeconds = EXPIRY_S): Promise<Node> {
  const { config } = await parseConfig(await testConfig({ dataDir, mqtt: { sessionExpirySeconds: expirySeconds } }))
  const store = await LevelStore.create({ dataDir })
  const p = await LevelPersistence.create(store.namespace('broker'))
  const metrics = new Metrics({ defaults: false })
  const logs: string[] = []
  const log = createLogger({ level: 'info', pretty: false, write: (l) => { logs.push(l) } })
  const broker = await MqttBroker.create({ config: config.mqtt, log, metrics, persistence: p, clock })
  const a = await broker.listen()
  return { store, p, broker, metrics, logs, url: `mqtt://${a.host}:${a.port}` }
}

async function stop (n: Node): Promise<void> {
  await n.broker.close()
  await n.p.destroy()
  await n.store.close()
}

/** Moves the manual clock, lets the sweep that fired finish, then one more sweep interval (it read the clock as
 *  it was when its timer fired, possibly before the end of the jump). */
async function elapse (n: Node, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms)
  await n.broker.sessionExpiry!.idle()
  clock.advance(SWEEP_MS)
  await n.broker.sessionExpiry!.idle()
}

async function connectWithAck (url: string, clientId: string): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0, protocolVersion: 4 })
  const [connack] = await onceOn(client, 'connect') as [IConnackPacket]
  return { client, sessionPresent: connack.sessionPresent }
}

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function countKeys (store: Store, child: string, clientId: string): Promise<number> {
  let n = 0
  for await (const _ of store.namespace('broker').namespace(child).keys({ prefix: clientPrefix(clientId) })) n++
  return n
}

/** From the broker's registry, or (for the runtime) its `/metrics` listener: anything with the exposition text. */
async function expiredTotal (m: { text(): Promise<string> }): Promise<number> {
  return metricValue(await m.text(), 'mecha_mqtt_sessions_expired_total') ?? 0
}

/** A persistent subscriber that subscribes, leaves, and has `count` QoS 1 messages queued while it is away. */
async function offlineWithQueue (n: Node, clientId: string, count: number): Promise<void> {
  const sub = await connect(n.url, { clientId, clean: false })
  await sub.subscribeAsync('meter/#', { qos: 1 })
  await sub.endAsync()
  await until('the offline record', () => n.p.offlineSince(clientId) !== undefined)
  const pub = await connect(n.url, { clientId: `${clientId}-pub` })
  for (let i = 0; i < count; i++) await pub.publishAsync('meter/kwh', `m${i}`, { qos: 1 })
  await closeAll(pub)
  await until('the queue on disk', async () => await countKeys(n.store, 'outgoing', clientId) === count)
}

test('session expiry - an offline persistent session past its expiry is removed, with its LevelDB entries, counted and logged', async () => {
  const clock = new ManualClock(T0)
  const dataDir = await tmpDir('expiry')
  const n = await start(dataDir, clock)
  await offlineWithQueue(n, 'meter-1', 5)
  assert.is(n.p.offlineSince('meter-1'), T0)
  assert.is(await countKeys(n.store, 'subs', 'meter-1'), 1)

  await elapse(n, clock, EXPIRY_S * 1000 - 2 * SWEEP_MS)
  assert.is(await expiredTotal(n.metrics), 0, 'not yet: one sweep short of the expiry')
  await elapse(n, clock, 2 * SWEEP_MS)
  assert.is(await expiredTotal(n.metrics), 1)
  assert.is(await countKeys(n.store, 'outgoing', 'meter-1'), 0, 'queued packets deleted from LevelDB')
  assert.is(await countKeys(n.store, 'subs', 'meter-1'), 0, 'subscriptions deleted from LevelDB')
  assert.is(await countKeys(n.store, 'offline', 'meter-1'), 0)
  assert.is(n.p.offlineSince('meter-1'), undefined)
  const line = n.logs.find((l) => l.includes('mqtt session expired'))
  assert.ok(line !== undefined && line.includes('"clientId":"meter-1"') && line.includes('"queued":5'), line)

  // Back with CleanSession 0: a new session [MQTT-3.2.2-3], and nothing of the old queue arrives.
  const { client, sessionPresent } = await connectWithAck(n.url, 'meter-1')
  assert.is(sessionPresent, false)
  const got: string[] = []
  client.on('message', (_t, payload) => { got.push(payload.toString()) })
  const pub = await connect(n.url, { clientId: 'pub-after' })
  await pub.publishAsync('meter/kwh', 'after', { qos: 1 })
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(got, [], 'no subscription left, no queued messages')
  await closeAll(client, pub)
  await stop(n)
})

test('session expiry - a client back in time keeps its session and queue, and its expiry starts over', async () => {
  const clock = new ManualClock(T0)
  const n = await start(await tmpDir('expiry'), clock)
  await offlineWithQueue(n, 'meter-2', 3)
  await elapse(n, clock, EXPIRY_S * 1000 - 2 * SWEEP_MS)

  const { client, sessionPresent } = await connectWithAck(n.url, 'meter-2')
  assert.is(sessionPresent, true)
  assert.equal((await collect(client, 3)).map((m) => m.payload), ['m0', 'm1', 'm2'])
  assert.is(n.p.offlineSince('meter-2'), undefined, 'reconnecting clears the offline time')
  // Online past the expiry: never dropped.
  await elapse(n, clock, 2 * EXPIRY_S * 1000)
  assert.is(await expiredTotal(n.metrics), 0)

  await client.endAsync()
  const leftAt = clock.now()
  await until('the new offline record', () => n.p.offlineSince('meter-2') === leftAt)
  await elapse(n, clock, EXPIRY_S * 1000 - 2 * SWEEP_MS)
  assert.is(await expiredTotal(n.metrics), 0, 'the expiry counts from the last disconnect')
  const again = await connectWithAck(n.url, 'meter-2')
  assert.is(again.sessionPresent, true)
  await closeAll(again.client)
  await stop(n)
})

test('session expiry - the offline time survives a restart: offline before it, expired after it on time', async () => {
  const dataDir = await tmpDir('expiry')
  const clock = new ManualClock(T0)
  let n = await start(dataDir, clock)
  await offlineWithQueue(n, 'meter-3', 4)
  await stop(n)

  // Down for half the expiry, then up again: the client still counts as offline since T0, not since the restart.
  const later = new ManualClock(T0 + EXPIRY_S * 500)
  n = await start(dataDir, later)
  assert.is(n.p.offlineSince('meter-3'), T0)
  await elapse(n, later, EXPIRY_S * 500 - 2 * SWEEP_MS)
  assert.is(await countKeys(n.store, 'outgoing', 'meter-3'), 4, 'still queued just before the expiry')
  await elapse(n, later, 2 * SWEEP_MS)
  assert.is(await expiredTotal(n.metrics), 1)
  assert.is(await countKeys(n.store, 'outgoing', 'meter-3'), 0)
  await stop(n)

  // And it stays gone after another restart.
  n = await start(dataDir, new ManualClock(T0 + 3 * EXPIRY_S * 1000))
  const { client, sessionPresent } = await connectWithAck(n.url, 'meter-3')
  assert.is(sessionPresent, false)
  await closeAll(client)
  await stop(n)
})

test('session expiry - a session whose client was connected when the broker stopped expires from the restart on', async () => {
  const dataDir = await tmpDir('expiry')
  let n = await start(dataDir, new ManualClock(T0))
  const sub = await connect(n.url, { clientId: 'meter-4', clean: false })
  await sub.subscribeAsync('meter/#', { qos: 1 })
  // Closing the broker disconnects it: its offline time is recorded on the way down.
  await stop(n)
  await closeAll(sub)

  // A session with no record at all (as after a kill -9 while it was connected) is offline from start-up.
  const store = await LevelStore.create({ dataDir })
  const p = await LevelPersistence.create(store.namespace('broker'))
  await p.setup({ id: 'raw' })
  await p.addSubscriptions({ id: 'meter-5' }, [{ topic: 'meter/#', qos: 1 }])
  await p.destroy(); await store.close()

  const clock = new ManualClock(T0 + 1000)
  n = await start(dataDir, clock)
  assert.is(n.p.offlineSince('meter-4'), T0)
  assert.is(n.p.offlineSince('meter-5'), T0 + 1000)
  await elapse(n, clock, EXPIRY_S * 1000)
  assert.is(await expiredTotal(n.metrics), 2)
  await stop(n)
})

test('session expiry - 0 never expires; the runtime applies mqtt.sessionExpirySeconds on the real clock', async () => {
  const keep = new ManualClock(T0)
  const n = await start(await tmpDir('expiry'), keep, 0)
  await offlineWithQueue(n, 'meter-6', 1)
  keep.advance(10 * 365 * 86_400_000)
  assert.is(await n.broker.sessionExpiry!.sweep(), 0)
  assert.is(await countKeys(n.store, 'outgoing', 'meter-6'), 1)
  await stop(n)

  const rt = await startRuntime({ mqtt: { sessionExpirySeconds: 1 } })
  const url = `mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`
  const sub = await connect(url, { clientId: 'meter-7', clean: false })
  await sub.subscribeAsync('meter/#', { qos: 1 })
  await sub.endAsync()
  await until('the expiry', async () => await expiredTotal({ text: () => metricsText(rt) }) === 1, 6000)
  const { client, sessionPresent } = await connectWithAck(url, 'meter-7')
  assert.is(sessionPresent, false)
  await closeAll(client)
  await rt.stop()
})

test('session expiry - the runtime\'s own subscription sessions never expire, and outside clients cannot take their ids', async () => {
  const clock = new ManualClock(T0)
  const n = await start(await tmpDir('expiry'), clock)
  // A subscription session as pub/sub makes one: trusted in-process connection, reserved id.
  const own = new mqtt.MqttClient(() => n.broker.connectInternal() as any, { clientId: 'mecha-sub/app/d/temps', clean: false, reconnectPeriod: 0, protocolVersion: 4 })
  await onceOn(own, 'connect')
  await own.subscribeAsync('temps/#', { qos: 1 })
  await own.endAsync()
  const pub = await connect(n.url, { clientId: 'sensor' })
  await pub.publishAsync('temps/a', 'kept while the app is away', { qos: 1 })
  await elapse(n, clock, 10 * EXPIRY_S * 1000)
  assert.is(await expiredTotal(n.metrics), 0)
  assert.is(await countKeys(n.store, 'outgoing', 'mecha-sub/app/d/temps'), 1, 'its queued event is still there')
  try {
    await connect(n.url, { clientId: 'mecha-sub/app/d/temps', clean: false })
    assert.unreachable('an outside client must not attach to a runtime session')
  } catch (err) {
    assert.is((err as { code?: number }).code, 2)
  }
  assert.is(await countKeys(n.store, 'outgoing', 'mecha-sub/app/d/temps'), 1)
  await closeAll(pub)
  await stop(n)
})

test.run()
