/**
 * The behaviours of the ten cases of the Eclipse Paho MQTT 3.1.1 interoperability suite (client_test.py), written
 * again with MQTT.js (and raw packets where a client must misbehave) against our broker, in-process, on port 0,
 * with the suite's ACL: deny `test/nosubscribe`, then allow `#`. The broker alone (no API or UI), with the LevelDB
 * persistence the runtime gives it, so sessions and queues are the real ones. Each case uses topics under its own
 * prefix so the cases cannot see each other's messages; only the `$` case uses `#` itself, as the suite does.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect as netConnect, type Socket } from 'node:net'
import { once } from 'node:events'
import mqttPacket from 'mqtt-packet'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { parseConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { Metrics } from '../../core/metrics.ts'
import { LevelStore } from '../../core/store/index.ts'
import { MqttBroker } from '../../edge/broker/index.ts'
import { LevelPersistence } from '../../edge/broker/persistence/index.ts'
import { testConfig } from '../helpers/runtime.ts'
import { awaitConnack, closeAll, onceOn } from '../helpers/mqtt.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'

interface Ctx { store: LevelStore; persistence: LevelPersistence; broker: MqttBroker; url: string; port: number }
const cases = suite<Ctx>('broker interop')

/** Rejects when `p` has not settled within `ms`: an MQTT.js call on a connection the broker closed never does. */
function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: not within ${ms} ms`)) }, ms) })
  return Promise.race([p, late]).finally(() => { clearTimeout(timer) })
}

/** Every case bounded, so a broker that misbehaves fails the case instead of hanging the file. */
const CASE_MS = 20_000
function test (name: string, fn: (ctx: Ctx) => Promise<void>): void {
  cases(name, (ctx) => within(fn(ctx), CASE_MS, name))
}

const ACL = [
  { topic: 'test/nosubscribe', access: 'both', allow: false },
  { topic: '#', access: 'both', allow: true },
]

cases.before(async (ctx) => {
  const dataDir = await tmpDir('interop')
  // Through the config parser, as the runtime gets it (defaults filled, rules checked).
  const { config } = await parseConfig(await testConfig({ dataDir, mqtt: { acl: ACL } }))
  ctx.store = await LevelStore.create({ dataDir })
  ctx.persistence = await LevelPersistence.create(ctx.store.namespace('broker'))
  const log = createLogger({ level: process.env.MECHA_TEST_LOG === '1' ? 'debug' : 'silent', pretty: false })
  ctx.broker = await MqttBroker.create({ config: config.mqtt, log, metrics: new Metrics({ defaults: false }), persistence: ctx.persistence })
  const a = await ctx.broker.listen()
  ctx.url = `mqtt://${a.host}:${a.port}`
  ctx.port = a.port
})
cases.after(async (ctx) => {
  await ctx.broker?.close()
  await ctx.persistence?.destroy()
  await ctx.store?.close()
  await cleanupTmp()
})

/** The suite's topics (`TopicA`, `TopicA/B`, `Topic/C`, `TopicA/C`, `/TopicA`) under one case's prefix. */
function topics (prefix: string): string[] {
  return [`${prefix}/TopicA`, `${prefix}/TopicA/B`, `${prefix}/Topic/C`, `${prefix}/TopicA/C`, `${prefix}/TopicA/D`]
}

interface Got { topic: string; payload: string; qos: number; retain: boolean; dup: boolean }

/** A client whose message log is attached before CONNECT: MQTT.js may emit queued messages before `connect`. */
interface Logged { client: MqttClient; got: Got[] }

async function open (url: string, opts: IClientOptions): Promise<Logged> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts })
  const got: Got[] = []
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain === true, dup: packet.dup === true })
  })
  await awaitConnack(client)
  return { client, got }
}

/** Polls (bounded) until `cond` holds; the message counts in the failure say what was missing. */
async function until (cond: () => boolean, what: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`)
    await sleep(20)
  }
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A raw MQTT 3.1.1 connection, for clients that must do what MQTT.js will not (stay silent, never ack). */
class Raw {
  readonly packets: any[] = []
  readonly socket: Socket
  private constructor (socket: Socket) {
    this.socket = socket
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (p: any) => { this.packets.push(p) })
    socket.on('data', (d) => { parser.parse(d) })
    socket.on('error', () => {})
  }

  static async open (port: number): Promise<Raw> {
    const s = netConnect(port, '127.0.0.1')
    await once(s, 'connect')
    return new Raw(s)
  }

  send (packet: Record<string, unknown>): void { this.socket.write(mqttPacket.generate(packet as any)) }

  async next (cmd: string, count = 1, timeoutMs = 5000): Promise<any[]> {
    await until(() => this.packets.filter((p) => p.cmd === cmd).length >= count, () => `${cmd} ×${count}, have ${this.packets.map((p) => p.cmd).join(',')}`, timeoutMs)
    return this.packets.filter((p) => p.cmd === cmd)
  }

  get closed (): boolean { return this.socket.destroyed || this.socket.readyState === 'closed' }
}

test('interop - basic: connect twice, subscribe, publish QoS 0, 1 and 2, receive all three', async ({ url }) => {
  const [topicA] = topics('basic')
  const first = await open(url, { clientId: 'interop-basic' })
  await first.client.endAsync()
  const a = await open(url, { clientId: 'interop-basic' })
  const granted = await a.client.subscribeAsync(topicA, { qos: 2 })
  assert.is(granted[0].qos, 2)
  a.client.publish(topicA, 'qos 0', { qos: 0 })
  await a.client.publishAsync(topicA, 'qos 1', { qos: 1 })
  await a.client.publishAsync(topicA, 'qos 2', { qos: 2 })
  await until(() => a.got.length >= 3, () => JSON.stringify(a.got))
  await sleep(200) // nothing more arrives
  assert.equal(a.got.map((m) => [m.payload, m.qos]).sort(), [['qos 0', 0], ['qos 1', 1], ['qos 2', 2]])
  await closeAll(a.client)
})

test('interop - retained messages: set at QoS 0/1/2, received on subscribe; an empty retained payload clears them', async ({ url }) => {
  const [, ab, c, ac] = topics('retained')
  const pub = await open(url, { clientId: 'interop-retain-pub' })
  pub.client.publish(ab, 'qos 0', { qos: 0, retain: true })
  await pub.client.publishAsync(c, 'qos 1', { qos: 1, retain: true })
  await pub.client.publishAsync(ac, 'qos 2', { qos: 2, retain: true })
  await closeAll(pub.client)
  const sub = await open(url, { clientId: 'interop-retain-sub' })
  await sub.client.subscribeAsync('retained/#', { qos: 2 })
  await until(() => sub.got.length >= 3, () => JSON.stringify(sub.got))
  assert.equal(sub.got.map((m) => [m.topic, m.payload, m.qos, m.retain]).sort(), [[ab, 'qos 0', 0, true], [c, 'qos 1', 1, true], [ac, 'qos 2', 2, true]].sort())
  await closeAll(sub.client)

  // [MQTT-3.3.1-10] a retained PUBLISH with a zero-length payload removes the retained message.
  const clear = await open(url, { clientId: 'interop-retain-pub' })
  clear.client.publish(ab, '', { qos: 0, retain: true })
  await clear.client.publishAsync(c, '', { qos: 1, retain: true })
  await clear.client.publishAsync(ac, '', { qos: 2, retain: true })
  await closeAll(clear.client)
  const again = await open(url, { clientId: 'interop-retain-sub' })
  await again.client.subscribeAsync('retained/#', { qos: 2 })
  await sleep(500)
  assert.equal(again.got, [], 'no retained message left')
  await closeAll(again.client)
})

test('interop - offline message queueing: a persistent session gets the QoS 1 and 2 messages sent while it was away', async ({ url }) => {
  const [, ab, c, ac] = topics('offline')
  const away = await open(url, { clientId: 'interop-offline', clean: false })
  await away.client.subscribeAsync('offline/#', { qos: 2 })
  await away.client.endAsync()
  const pub = await open(url, { clientId: 'interop-offline-pub' })
  pub.client.publish(ab, 'qos 0', { qos: 0 })
  await pub.client.publishAsync(c, 'qos 1', { qos: 1 })
  await pub.client.publishAsync(ac, 'qos 2', { qos: 2 })
  await closeAll(pub.client)
  const back = await open(url, { clientId: 'interop-offline', clean: false })
  assert.ok(back.client.connected)
  await until(() => back.got.some((m) => m.payload === 'qos 1') && back.got.some((m) => m.payload === 'qos 2'), () => JSON.stringify(back.got))
  await sleep(300)
  // As the suite: 2 or 3 (queueing QoS 0 for an offline client is optional [MQTT-3.1.2-5]).
  assert.ok(back.got.length === 2 || back.got.length === 3, JSON.stringify(back.got))
  assert.equal(back.got.filter((m) => m.qos > 0).map((m) => [m.topic, m.qos]).sort(), [[c, 1], [ac, 2]].sort())
  // Clean the session up so it holds nothing for later runs of the same broker.
  await back.client.endAsync()
  const wipe = await open(url, { clientId: 'interop-offline', clean: true })
  await closeAll(wipe.client)
})

test('interop - unsubscribe: after UNSUBACK nothing more arrives on that filter, the others still deliver', async ({ url }) => {
  const [, ab, c, ac] = topics('unsub')
  const sub = await open(url, { clientId: 'interop-unsub' })
  for (const t of [ab, c, ac]) await sub.client.subscribeAsync(t, { qos: 2 })
  await sub.client.unsubscribeAsync(ab)
  const pub = await open(url, { clientId: 'interop-unsub-pub' })
  await pub.client.publishAsync(ab, 'topic 0 - unsubscribed', { qos: 1 })
  await pub.client.publishAsync(c, 'topic 1', { qos: 1 })
  await pub.client.publishAsync(ac, 'topic 2', { qos: 1 })
  await until(() => sub.got.length >= 2, () => JSON.stringify(sub.got))
  await sleep(300)
  assert.equal(sub.got.map((m) => m.payload).sort(), ['topic 1', 'topic 2'])
  await closeAll(sub.client, pub.client)
})

test('interop - zero-length client id: accepted with clean session 1, CONNACK 2 with clean session 0 [MQTT-3.1.3-8]', async ({ url, port }) => {
  // MQTT.js (mqtt-packet) will not build a zero-length id with clean session 0: build it clean, clear the flag.
  const raw = await Raw.open(port)
  const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 30 } as any)
  const flags = 2 + 6 + 1 // fixed header (2 bytes here), protocol name, protocol level
  assert.is(bytes[flags] & 0x02, 0x02)
  bytes[flags] &= ~0x02
  raw.socket.write(bytes)
  const [connack] = await raw.next('connack')
  assert.is(connack.returnCode, 2, 'identifier rejected')
  await until(() => raw.closed, () => 'the server closes the connection after a refusal [MQTT-3.2.2-5]')

  const ok = await open(url, { clientId: '', clean: true })
  assert.ok(ok.client.connected, 'the server assigns an id of its own [MQTT-3.1.3-6]')
  const [topicA] = topics('zero')
  await ok.client.subscribeAsync(topicA, { qos: 1 })
  await ok.client.publishAsync(topicA, 'works', { qos: 1 })
  await until(() => ok.got.length === 1, () => 'own message back')
  await closeAll(ok.client)
})

test('interop - $ topics: `#` does not receive $TopicA/B [MQTT-4.7.2-1]; publishing to it is allowed by the ACL; $SYS is not', async ({ url }) => {
  const all = await open(url, { clientId: 'interop-dollar-all' })
  await all.client.subscribeAsync('#', { qos: 2 })
  const dollar = await open(url, { clientId: 'interop-dollar-sub' })
  await dollar.client.subscribeAsync('$TopicA/#', { qos: 2 })
  await sleep(300) // retained messages of earlier cases arrive on `#` now, not during the check below
  const pub = await open(url, { clientId: 'interop-dollar-pub' })
  const dropped = onceOn(pub.client, 'close').then(() => { throw new Error('the broker closed the publisher\'s connection') })
  dropped.catch(() => {}) // it rejects again at the final close; only the race below reads it
  await within(Promise.race([pub.client.publishAsync('$TopicA/B', 'dollar', { qos: 1 }), dropped]), 5000, 'PUBACK for $TopicA/B')
  assert.ok(pub.client.connected, 'the publisher stays connected: the ACL rule `#` covers $ topics')
  await until(() => dollar.got.length === 1, () => 'delivered to an explicit $TopicA/# subscription')
  assert.equal(dollar.got.map((m) => [m.topic, m.payload]), [['$TopicA/B', 'dollar']])
  await sleep(200)
  assert.not.ok(all.got.some((m) => m.topic.startsWith('$')), `a # subscription got ${JSON.stringify(all.got)}`)
  // Publishing into the broker's own $SYS tree stays refused, whatever the ACL says (3.1.1: the connection closes).
  const sys = await open(url, { clientId: 'interop-dollar-sys' })
  const closed = onceOn(sys.client, 'close')
  sys.client.publish('$SYS/broker/forged', 'x', { qos: 1 })
  await within(closed, 5000, 'the $SYS publisher is disconnected')
  await closeAll(all.client, dollar.client, pub.client, sys.client)
})

test('interop - overlapping subscriptions: one copy at the maximum QoS, or one per subscription [MQTT-3.3.5-1]', async ({ url }) => {
  const [, , , ac] = topics('overlap')
  const a = await open(url, { clientId: 'interop-overlap' })
  await a.client.subscribeAsync({ 'overlap/TopicA/#': { qos: 2 }, 'overlap/TopicA/+': { qos: 1 } })
  await a.client.publishAsync(ac, 'overlapping topic filters', { qos: 2 })
  await until(() => a.got.length >= 1, () => 'no copy')
  await sleep(500)
  const qos = a.got.map((m) => m.qos).sort()
  assert.ok(a.got.length === 1 || a.got.length === 2, JSON.stringify(a.got))
  if (a.got.length === 1) assert.equal(qos, [2], 'one copy carries the highest QoS of the matching subscriptions')
  else assert.equal(qos, [1, 2], 'one copy per subscription, each at its QoS')
  await closeAll(a.client)
})

test('interop - keepalive: a client that stops pinging is dropped and its will is published', async ({ url, port }) => {
  const [, , , , willTopic] = topics('keepalive')
  const watcher = await open(url, { clientId: 'interop-keepalive-watch' })
  await watcher.client.subscribeAsync(willTopic, { qos: 2 })
  // A raw client: keepalive 1 s, a will, then silence (MQTT.js would keep pinging).
  const silent = await Raw.open(port)
  silent.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'interop-keepalive', clean: true, keepalive: 1, will: { topic: willTopic, payload: Buffer.from('keepalive expiry'), qos: 1, retain: false } })
  assert.is((await silent.next('connack'))[0].returnCode, 0)
  const t0 = Date.now()
  // [MQTT-3.1.2-24] no packet within 1.5 × keepalive: the server disconnects, and [MQTT-3.1.2-8] publishes the will.
  await until(() => silent.closed, () => 'the silent client is still connected', 6000)
  const ms = Date.now() - t0
  assert.ok(ms >= 900 && ms < 5000, `dropped after ${ms} ms`)
  await until(() => watcher.got.length === 1, () => 'the will did not arrive')
  assert.equal(watcher.got.map((m) => [m.topic, m.payload]), [[willTopic, 'keepalive expiry']])
  await closeAll(watcher.client)
})

test('interop - redelivery on reconnect: unacknowledged QoS 1 and 2 messages come again with DUP [MQTT-4.4.0-1]', async ({ url, port }) => {
  const [, ab, , ac] = topics('redeliver')
  // First connection: raw, so it can receive the PUBLISHes and never acknowledge them (the suite's `pause()`).
  const raw = await Raw.open(port)
  raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'interop-redeliver', clean: false, keepalive: 30 })
  assert.is((await raw.next('connack'))[0].returnCode, 0)
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'redeliver/TopicA/#', qos: 2 }] })
  assert.equal((await raw.next('suback'))[0].granted, [2])
  const pub = await open(url, { clientId: 'interop-redeliver-pub' })
  await pub.client.publishAsync(ab, 'qos 1', { qos: 1 })
  await pub.client.publishAsync(ac, 'qos 2', { qos: 2 })
  const first = await raw.next('publish', 2)
  assert.equal(first.map((p) => [p.topic, p.qos, p.dup === true]).sort(), [[ab, 1, false], [ac, 2, false]].sort())
  raw.send({ cmd: 'disconnect' })
  raw.socket.end()
  await until(() => raw.closed, () => 'raw client closing')
  await closeAll(pub.client)

  // [MQTT-4.4.0-1] on reconnect with CleanSession 0 the server resends unacknowledged PUBLISHes,
  // [MQTT-3.3.1-1] with DUP set.
  const back = await open(url, { clientId: 'interop-redeliver', clean: false })
  await until(() => back.got.length >= 2, () => JSON.stringify(back.got))
  await sleep(300)
  assert.equal(back.got.map((m) => [m.topic, m.payload, m.qos, m.dup]).sort(), [[ab, 'qos 1', 1, true], [ac, 'qos 2', 2, true]].sort())
  await back.client.endAsync()
  const wipe = await open(url, { clientId: 'interop-redeliver', clean: true })
  await closeAll(wipe.client)
})

test('interop - subscribe failure: a filter the ACL denies gets SUBACK 0x80, the connection stays [MQTT-3.9.3-2]', async ({ url }) => {
  const a = await open(url, { clientId: 'interop-nosub' })
  // Read the SUBACK itself: MQTT.js turns a 0x80 return code into an error for the whole call.
  const suback = new Promise<number[]>((resolve) => { a.client.on('packetreceive', (p: any) => { if (p.cmd === 'suback') resolve(p.granted) }) })
  a.client.subscribe({ 'test/nosubscribe': { qos: 2 } }, () => {})
  assert.equal(await suback, [0x80])
  assert.ok(a.client.connected)
  const granted = await a.client.subscribeAsync('nosub/TopicA', { qos: 2 })
  assert.is(granted[0].qos, 2, 'other filters are still granted')
  await closeAll(a.client)
})

cases.run()
