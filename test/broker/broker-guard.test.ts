import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect as netConnect, type Socket } from 'node:net'
import { once } from 'node:events'
import mqttPacket from 'mqtt-packet'
import mqtt from 'mqtt'
import { hashPassword } from '../../core/passwords.ts'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { connect, collect, closeAll, onceOn } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { metricValue } from '../helpers/prometheus.ts'
import { metadata, metricsText } from '../helpers/runtime-view.ts'

const test = suite<{ rt: Runtime; url: string }>('broker guards')

test.before(async (ctx) => {
  const users = [
    { username: 'alice', password: await hashPassword('alice-secret') },
    { username: 'bob', password: await hashPassword('bob-secret') },
  ]
  const acl = [
    { user: 'alice', topic: '#', access: 'both' },
    { topic: 'users/%u/#', access: 'both' },
    { topic: 'clients/%c/out', access: 'publish' },
    { topic: 'public/#', access: 'subscribe' },
  ]
  ctx.rt = await startRuntime({ mqtt: { users, acl, maxPayloadBytes: 1024, maxClients: 6, connectTimeoutMs: 400, maxInflight: 5 } })
  const a = ctx.rt.addresses.mqtt!
  ctx.url = `mqtt://${a.host}:${a.port}`
})
test.after(async (ctx) => { await ctx.rt.stop(); await cleanupTmp() })

async function rejected (rt: Runtime, reason: string): Promise<number> {
  return metricValue(await metricsText(rt), 'mecha_mqtt_rejected_total', { reason }) ?? 0
}

test('broker - a wrong password gets CONNACK 4, is counted, and others keep working', async ({ rt, url }) => {
  const alice = await connect(url, { username: 'alice', password: 'alice-secret', clientId: 'alice-1' })
  const before = await rejected(rt, 'auth')
  for (const creds of [{ username: 'alice', password: 'wrong' }, { username: 'mallory', password: 'x' }, {}]) {
    try {
      await connect(url, { ...creds, clientId: 'intruder' })
      assert.unreachable('must be refused')
    } catch (err) {
      assert.is((err as { code?: number }).code, 4, `refusal for ${JSON.stringify(creds)}: ${(err as Error).message}`)
    }
  }
  assert.is(await rejected(rt, 'auth'), before + 3)
  await alice.subscribeAsync('health/check', { qos: 1 })
  const got = collect(alice, 1)
  await alice.publishAsync('health/check', 'still here', { qos: 1 })
  assert.is((await got)[0].payload, 'still here')
  await closeAll(alice)
})

test('broker - an ACL-denied subscription gets SUBACK 0x80 and the connection stays up', async ({ url }) => {
  const bob = await connect(url, { username: 'bob', password: 'bob-secret', clientId: 'bob-1' })
  // Read the SUBACK itself: MQTT.js turns a 0x80 return code into an error for the whole call.
  const suback = new Promise<number[]>((resolve) => { bob.on('packetreceive', (p: any) => { if (p.cmd === 'suback') resolve(p.granted) }) })
  bob.subscribe({ 'secret/#': { qos: 1 }, 'users/bob/inbox': { qos: 1 } }, () => {})
  assert.equal(await suback, [128, 1], 'SUBACK return codes: failure for the denied filter, QoS 1 for the allowed one [MQTT-3.9.3]')
  const sub = await bob.subscribeAsync('public/news', { qos: 0 })
  assert.is(sub[0].qos, 0, 'the pattern rule for subscribe-only topics works')
  assert.ok(bob.connected)
  const got = collect(bob, 1)
  await bob.publishAsync('users/bob/inbox', 'hello bob', { qos: 1 })
  assert.is((await got)[0].payload, 'hello bob', '%u pattern allows own topic')
  await closeAll(bob)
})

test('broker - an ACL-denied publish closes only that connection and is counted', async ({ rt, url }) => {
  const alice = await connect(url, { username: 'alice', password: 'alice-secret', clientId: 'alice-2' })
  const bob = await connect(url, { username: 'bob', password: 'bob-secret', clientId: 'bob-2' })
  const before = await rejected(rt, 'acl')
  await alice.subscribeAsync('users/alice/#', { qos: 1 })
  const closed = onceOn(bob, 'close')
  bob.publish('users/alice/inbox', 'forged', { qos: 1 })
  await closed
  assert.is(await rejected(rt, 'acl'), before + 1)
  const got = collect(alice, 1, 3000)
  await alice.publishAsync('users/alice/inbox', 'genuine', { qos: 1 })
  assert.equal((await got).map((m) => m.payload), ['genuine'], 'the forged message was never delivered')
  await closeAll(alice, bob)
})

test('broker - an oversized payload is refused, counted, and others are unaffected', async ({ rt, url }) => {
  const alice = await connect(url, { username: 'alice', password: 'alice-secret', clientId: 'alice-3' })
  const big = await connect(url, { username: 'alice', password: 'alice-secret', clientId: 'alice-big' })
  await alice.subscribeAsync('data/#', { qos: 1 })
  const before = await rejected(rt, 'too_large')
  const closed = onceOn(big, 'close')
  big.publish('data/big', Buffer.alloc(2048, 1), { qos: 1 })
  await closed
  assert.is(await rejected(rt, 'too_large'), before + 1)
  const got = collect(alice, 1, 3000)
  await alice.publishAsync('data/small', 'ok', { qos: 1 })
  assert.equal((await got).map((m) => m.topic), ['data/small'])
  await closeAll(alice, big)
})

function rawSocket (url: string): Promise<Socket> {
  const u = new URL(url)
  const s = netConnect(Number(u.port), u.hostname)
  return once(s, 'connect').then(() => s)
}

test('broker - a garbage byte stream is closed and counted; others unaffected', async ({ rt, url }) => {
  const alice = await connect(url, { username: 'alice', password: 'alice-secret', clientId: 'alice-4' })
  const before = await rejected(rt, 'protocol')
  const s = await rawSocket(url)
  s.on('error', () => {})
  s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\xfe garbage'))
  await once(s, 'close')
  assert.ok(await rejected(rt, 'protocol') > before, 'protocol errors counted')
  assert.ok(alice.connected)
  await closeAll(alice)
})

test('broker - a half-open connection that never sends CONNECT is closed after connectTimeoutMs', async ({ url }) => {
  const s = await rawSocket(url)
  s.on('error', () => {})
  const t0 = Date.now()
  await once(s, 'close')
  const ms = Date.now() - t0
  assert.ok(ms < 5000, `closed after ${ms} ms`)
})

test('broker - a zero-length client id with clean session 0 gets CONNACK 0x02 [MQTT-3.1.3-8]', async ({ url }) => {
  const s = await rawSocket(url)
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const connack = new Promise<any>((resolve) => { parser.on('packet', resolve) })
  s.on('data', (d) => parser.parse(d))
  // mqtt-packet refuses to build this packet, so build it clean and clear the CleanSession flag by hand.
  const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 30, username: 'alice', password: Buffer.from('alice-secret') } as any)
  const flags = 2 + 6 + 1 // fixed header (2 bytes here), protocol name, protocol level
  assert.is(bytes[flags] & 0x02, 0x02)
  bytes[flags] &= ~0x02
  s.write(bytes)
  const packet = await connack
  assert.is(packet.cmd, 'connack')
  assert.is(packet.returnCode, 2)
  s.destroy()
})

test('broker - a client holding more than maxInflight QoS 2 messages unreleased is disconnected and counted', async ({ rt, url }) => {
  const before = await rejected(rt, 'too_many_inflight')
  const s = await rawSocket(url)
  s.on('error', () => {})
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const received: string[] = []
  parser.on('packet', (p: any) => { received.push(p.cmd) })
  s.on('data', (d) => parser.parse(d))
  s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'hoarder', clean: true, keepalive: 30, username: 'alice', password: Buffer.from('alice-secret') } as any))
  // Seven QoS 2 publishes, never answering PUBREC with PUBREL: the broker holds each one until released.
  for (let id = 1; id <= 7; id++) s.write(mqttPacket.generate({ cmd: 'publish', topic: 'hoard/x', payload: Buffer.from(String(id)), qos: 2, messageId: id, retain: false, dup: false } as any))
  await once(s, 'close')
  // The seven arrive in one read and are handled together: the sixth trips the limit before any PUBREC is out.
  assert.ok(received.filter((c) => c === 'pubrec').length <= 5, 'never more than maxInflight accepted')
  assert.is(await rejected(rt, 'too_many_inflight'), before + 1)
})

test('broker - past maxClients a client gets CONNACK 3 (server unavailable)', async ({ rt, url }) => {
  const clients = []
  // Earlier tests' clients may still be disconnecting; start from an empty broker.
  const connected = async (): Promise<number> => Number((await metadata(rt)).extended['mqtt.clients'])
  for (let i = 0; i < 50 && await connected() > 0; i++) await new Promise((r) => setTimeout(r, 50))
  assert.is(await connected(), 0)
  const before = await rejected(rt, 'too_many_clients')
  try {
    for (let i = 0; i < 6; i++) clients.push(await connect(url, { username: 'bob', password: 'bob-secret', clientId: `fill-${i}` }))
    try {
      await connect(url, { username: 'bob', password: 'bob-secret', clientId: 'one-too-many' })
      assert.unreachable('the 7th client must be refused')
    } catch (err) {
      assert.is((err as { code?: number }).code, 3)
    }
    assert.is(await rejected(rt, 'too_many_clients'), before + 1)
    // That the runtime's own sessions still get in past the limit is the broker's: internal-sessions.test.ts.
  } finally {
    await closeAll(...clients)
  }
})

test.run()
