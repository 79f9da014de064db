/**
 * The subscription session's deferred PUBACK, which leans on MQTT.js internals (`handleMessage`,
 * `_sendPacket`): a message is acknowledged only once settled, in arrival order, and a missing internal
 * stops the runtime at start with a clear error instead of leaving every message unacknowledged.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { parseConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { Metrics } from '../../core/metrics.ts'
import { MemoryStore } from '../../core/store/index.ts'
import { MqttBroker } from '../../edge/broker/index.ts'
import { LevelPersistence } from '../../edge/broker/persistence/index.ts'
import { SubscriptionManager } from '../../edge/pubsub/index.ts'
import { MqttSession, assertMqttInternals, type SessionMessage } from '../../edge/pubsub/session.ts'
import { waitUntil } from './test-app.ts'

const log = createLogger({ level: 'silent', pretty: false })

/** The broker as the runtime has it (its LevelDB persistence), over an in-memory store. */
async function broker (): Promise<MqttBroker> {
  const { config } = await parseConfig({ id: 'gw-session', dataDir: '/nonexistent', mqtt: { port: 0 } })
  const persistence = await LevelPersistence.create((await MemoryStore.create()).namespace('broker'))
  return await MqttBroker.create({ config: config.mqtt, log, metrics: new Metrics({ defaults: false }), persistence })
}

test('pubsub session - the installed MQTT.js has the internals the deferred PUBACK uses', () => {
  assert.type((mqtt.MqttClient.prototype as unknown as Record<string, unknown>)._sendPacket, 'function')
  assertMqttInternals()
})

test('pubsub session - an MQTT.js without _sendPacket or handleMessage is refused with an error naming what is missing', () => {
  assert.throws(() => { assertMqttInternals({ handleMessage () {} }) }, /MqttClient\.prototype\._sendPacket\(\).*edge\/pubsub\/session\.ts/)
  assert.throws(() => { assertMqttInternals({ _sendPacket () {} }) }, /MqttClient\.prototype\.handleMessage\(\)/)
  assert.throws(() => { assertMqttInternals({}) }, /_sendPacket\(\) and .*handleMessage\(\)/)
})

test('pubsub session - SubscriptionManager.create fails at startup, before any session, when _sendPacket is gone', async () => {
  const b = await broker()
  const proto = mqtt.MqttClient.prototype as unknown as Record<string, unknown>
  const original = proto._sendPacket
  let connects = 0
  try {
    delete proto._sendPacket
    const { config } = await parseConfig({ id: 'gw-session', dataDir: '/nonexistent', apps: [{ id: 'a', appPort: 1 }] })
    const err = await SubscriptionManager.create({ connect: () => { connects++; return b.connectInternal() }, bus: b, config, log }).then(() => undefined, (e: unknown) => e as Error)
    assert.instance(err, Error)
    assert.match(err!.message, 'MqttClient.prototype._sendPacket()')
    assert.is(connects, 0, 'no session was opened')
  } finally {
    proto._sendPacket = original
    await b.close()
  }
})

test('pubsub session - a message is PUBACKed only once settled, in arrival order; unsettled ones come again on reopen', async () => {
  const b = await broker()
  const got: SessionMessage[] = []
  const open = (): Promise<MqttSession> => MqttSession.open({ connect: () => b.connectInternal(), clientId: 'pin-session', filter: 'pin/#', window: 3, onMessage: (m) => { got.push(m) }, log })
  try {
    let s = await open()
    for (let i = 0; i < 3; i++) await b.publish({ topic: 'pin/t', payload: Buffer.from(String(i)), qos: 1, retain: false })
    await waitUntil(() => got.length === 3, 5000, 'three messages')
    // The 2nd and 3rd are settled, the 1st is not: no PUBACK may go out for any of them (arrival order).
    got[1].settle(); got[2].settle()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await s.close()
    got.length = 0
    s = await open()
    await waitUntil(() => got.length === 3, 5000, 'all three again')
    assert.equal(got.map((m) => m.payload.toString()), ['0', '1', '2'])
    // Settled out of order: the PUBACKs wait for the 1st, then all three go out.
    got[2].settle(); got[0].settle(); got[1].settle()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await s.close()
    got.length = 0
    s = await open()
    await b.publish({ topic: 'pin/t', payload: Buffer.from('3'), qos: 1, retain: false })
    await waitUntil(() => got.length >= 1, 5000, 'the next message')
    await new Promise((resolve) => setTimeout(resolve, 50))
    // (A message published just as a session reconnects may arrive twice — at least once is the contract.)
    assert.equal([...new Set(got.map((m) => m.payload.toString()))], ['3'], 'the settled ones were acknowledged')
    for (const m of got) m.settle()
    await s.close()
  } finally {
    await b.close()
  }
})

test.run()
