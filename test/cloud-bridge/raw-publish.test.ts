/**
 * The sender's own QoS 1 path: pre-encoded PUBLISH packets (publish-packet.ts), packet ids split between MQTT.js
 * and the sender (packet-ids.ts), PUBACKs matched by `RawPublisher` — against mqtt-packet's parser and a real
 * mosquitto, with MQTT.js publishing and subscribing on the same connection at the same time.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import type { MqttClient } from 'mqtt'
import { encodePublish, MAX_REMAINING_LENGTH } from '../../cloud-bridge/publish-packet.ts'
import { MQTTJS_LAST_ID, MqttJsIds, RangeIds, SENDER_FIRST_ID } from '../../cloud-bridge/packet-ids.ts'
import { RawPublisher } from '../../cloud-bridge/raw-publisher.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { connectClient, waitFor } from './helpers.ts'

test.after(async () => { await cleanupTmp() })

/** Parses one packet with mqtt-packet (what brokers built on it, e.g. aedes, would see). */
function parse (buf: Buffer, protocolVersion: 4 | 5): any {
  const parser = mqttPacket.parser({ protocolVersion })
  const packets: any[] = []
  const errors: Error[] = []
  parser.on('packet', (p: any) => packets.push(p))
  parser.on('error', (e: Error) => errors.push(e))
  const left = parser.parse(buf)
  assert.equal(errors, [])
  assert.is(packets.length, 1, 'exactly one packet')
  assert.is(left, 0, 'no bytes left over')
  return packets[0]
}

test('publish packet - v5 with user property and content type, v4 without properties, sizes across varint bounds', () => {
  for (const size of [0, 1, 100, 127 - 40, 16_383 - 60, 16_384, 70_000, 2_097_152]) {
    const payload = Buffer.alloc(size, 0x61 + (size % 26))
    const p5 = parse(encodePublish(5, {
      topic: 'gateways/gw-ü/t', payload, qos: 1, retain: true, messageId: 4242,
      properties: { contentType: 'application/cbor', userProperties: { 'mecha-id': 'abcd0123-99', k: 'v' } },
    }), 5)
    assert.is(p5.cmd, 'publish')
    assert.is(p5.topic, 'gateways/gw-ü/t')
    assert.is(p5.qos, 1)
    assert.is(p5.retain, true)
    assert.is(p5.dup, false)
    assert.is(p5.messageId, 4242)
    assert.ok(Buffer.from(p5.payload).equals(payload), `payload of ${size} bytes`)
    assert.is(p5.properties.contentType, 'application/cbor')
    assert.equal({ ...p5.properties.userProperties }, { 'mecha-id': 'abcd0123-99', k: 'v' })

    const p4 = parse(encodePublish(4, { topic: 'a/b', payload, qos: 1, retain: false, messageId: 1, properties: { userProperties: { ignored: 'in 3.1.1' } } }), 4)
    assert.is(p4.topic, 'a/b')
    assert.is(p4.messageId, 1)
    assert.is(p4.retain, false)
    assert.ok(Buffer.from(p4.payload).equals(payload))
  }
  const q0 = parse(encodePublish(5, { topic: 't', payload: Buffer.from('x'), qos: 0, retain: false }), 5)
  assert.is(q0.qos, 0)
  assert.is(q0.messageId, undefined)
  // The bytes are mqtt-packet's own, field for field, for the same packet.
  const same = mqttPacket.generate({ cmd: 'publish', topic: 'gw/t1', payload: Buffer.from('hello'), qos: 1, messageId: 7, retain: false, dup: false, properties: { userProperties: { 'mecha-id': 'e-1' } } } as any, { protocolVersion: 5 })
  assert.ok(encodePublish(5, { topic: 'gw/t1', payload: Buffer.from('hello'), qos: 1, retain: false, messageId: 7, properties: { userProperties: { 'mecha-id': 'e-1' } } }).equals(same))
})

test('publish packet - refuses what MQTT cannot carry', () => {
  assert.throws(() => encodePublish(5, { topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false }), /packet id/)
  assert.throws(() => encodePublish(5, { topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false, messageId: 0x10000 }), /packet id/)
  assert.throws(() => encodePublish(4, { topic: 'x'.repeat(0x10000), payload: Buffer.alloc(0), qos: 0, retain: false }), /topic/)
  assert.throws(() => encodePublish(4, { topic: 't', payload: { length: MAX_REMAINING_LENGTH } as Uint8Array, qos: 0, retain: false }), /larger/)
})

test('packet ids - round robin within the range, never one in use, undefined when all are', () => {
  const ids = new RangeIds(10, 13)
  assert.equal([ids.take(), ids.take(), ids.take()], [10, 11, 12])
  ids.release(11)
  assert.equal([ids.take(), ids.take()], [13, 11])
  assert.is(ids.take(), undefined)
  ids.release(12)
  assert.is(ids.take(), 12)
  assert.not.ok(ids.claim(12))
  assert.not.ok(ids.claim(9))
  const m = new MqttJsIds()
  for (let i = 0; i < 5000; i++) {
    const id = m.allocate() as number
    assert.ok(id >= 1 && id <= MQTTJS_LAST_ID, `MQTT.js id ${id} in its range`)
    m.deallocate(id)
  }
  assert.ok(SENDER_FIRST_ID > MQTTJS_LAST_ID)
})

for (const protocolVersion of [5, 4] as const) {
  test(`raw publisher - QoS 1 through mosquitto next to MQTT.js's own publishes and subscriptions (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
    const mosq = await Mosquitto.start()
    const got: Array<{ topic: string; payload: string; id: unknown }> = []
    const sub = await connectClient(mosq.url, { protocolVersion: 5 }, (c) => {
      c.on('message', (topic, payload, packet) => { got.push({ topic, payload: payload.toString(), id: packet.properties?.userProperties?.['mecha-id'] }) })
    })
    await sub.subscribeAsync('raw/#', { qos: 1 })
    const client: MqttClient = await connectClient(mosq.url, { protocolVersion, messageIdProvider: new MqttJsIds() })
    const raw = new RawPublisher(client, protocolVersion)
    const acked = new Map<number, number>()
    const N = 3000
    const mine: Array<Promise<unknown>> = []
    try {
      for (let i = 0; i < N; i++) {
        raw.publish(`raw/r${i % 3}`, Buffer.from(String(i)), { qos: 1, retain: false, properties: { userProperties: { 'mecha-id': `e-${i}` } } }, (err) => {
          assert.is(err, undefined)
          acked.set(i, (acked.get(i) ?? 0) + 1)
        })
        // MQTT.js's own traffic on the same connection, with ids from its range.
        if (i % 100 === 0) mine.push(client.publishAsync('raw/mqttjs', `m${i}`, { qos: 1 }), client.subscribeAsync(`other/${i}`, { qos: 1 }))
      }
      await Promise.all(mine)
      await waitFor(() => acked.size === N && got.length >= N + mine.length / 2, 10_000, () => `acked ${acked.size}/${N}, received ${got.length}`)
      assert.ok([...acked.values()].every((n) => n === 1), 'each callback exactly once')
      assert.is(raw.pending, 0)
      const rawGot = got.filter((g) => g.topic !== 'raw/mqttjs')
      assert.is(rawGot.length, N)
      for (let t = 0; t < 3; t++) {
        const seq = rawGot.filter((g) => g.topic === `raw/r${t}`).map((g) => Number(g.payload))
        assert.equal(seq, [...seq].sort((a, b) => a - b), `raw/r${t} in order`)
      }
      if (protocolVersion === 5) assert.ok(rawGot.every((g) => g.id === `e-${g.payload}`), 'mecha-id on every message')
      else assert.ok(rawGot.every((g) => g.id === undefined))
    } finally {
      raw.close()
      await client.endAsync(true)
      await sub.endAsync(true)
      await mosq.stop()
    }
  })
}

test.run()
