/** Small pieces of the cloud bridge: topic mapping, backoff, config defaults, status stream, entry codec. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Ajv } from 'ajv'
import { cloudSchema } from '../../core/config/cloud-schema.ts'
import { isMechaError } from '../../core/errors.ts'
import { decorrelatedJitter, mapTopic, matchTopic, resolveCloudConfig } from '../../cloud-bridge/index.ts'
import { StatusStream } from '../../cloud-bridge/status.ts'
import { decodeEntry, encodeEntry } from '../../cloud-bridge/outbox-entry.ts'

test('topics - MQTT filter matching', () => {
  assert.ok(matchTopic('a/#', 'a/b/c'))
  assert.ok(matchTopic('a/#', 'a'))
  assert.ok(matchTopic('a/+/c', 'a/b/c'))
  assert.not.ok(matchTopic('a/+/c', 'a/b/d'))
  assert.not.ok(matchTopic('a/+', 'a/b/c'))
  assert.not.ok(matchTopic('#', '$SYS/x'))
  assert.ok(matchTopic('$SYS/#', '$SYS/x'))
})

test('topics - the literal prefix of `from` is replaced by `to`; {topic} makes a template', () => {
  assert.is(mapTopic('sensors/#', 'gateways/gw-01/', 'sensors/t1'), 'gateways/gw-01/t1')
  assert.is(mapTopic('#', 'gateways/gw-01/', 'sensors/t1'), 'gateways/gw-01/sensors/t1')
  assert.is(mapTopic('gateways/gw-01/cmd/#', 'cmd/', 'gateways/gw-01/cmd/reboot'), 'cmd/reboot')
  assert.is(mapTopic('a/+/c', 'x/', 'a/b/c'), 'x/b/c')
  assert.is(mapTopic('a/b', 'x/y', 'a/b'), 'x/y')
  assert.is(mapTopic('a/#', 'gw/{topic}/up', 'a/b'), 'gw/a/b/up')
  assert.is(mapTopic('a/#', '', 'a/b'), 'b')
})

test('backoff - decorrelated jitter stays within min and max and grows', () => {
  let r = 0
  const delay = decorrelatedJitter(100, 10_000, () => r)
  assert.is(delay(1, 0), 100)
  r = 1
  assert.is(delay(2, 100), 300)
  assert.is(delay(3, 300), 900)
  assert.is(delay(9, 9000), 10_000)
  const rnd = decorrelatedJitter(50, 1000)
  let prev = 0
  for (let i = 1; i < 50; i++) { const d = rnd(i, prev); assert.ok(d >= 50 && d <= 1000, String(d)); prev = d }
})

test('config - cloud schema fills defaults and rejects unknown keys everywhere', () => {
  const cfg = resolveCloudConfig({ url: 'mqtts://cloud.example:8883', forward: [{ from: 'sensors/#', batch: {} }], receive: [{ from: 'cmd/#' }] })
  assert.is(cfg.protocolVersion, 5)
  assert.is(cfg.clientId, '{id}')
  assert.is(cfg.inflight, 256)
  assert.is(cfg.rejectUnauthorized, true)
  assert.equal(cfg.backoff, { minMs: 500, maxMs: 60_000 })
  assert.equal(cfg.outbox, { maxBytes: 268435456, maxMessages: 10_000_000, whenFull: 'drop-oldest', durability: 'process' })
  assert.equal(cfg.forward[0], { from: 'sensors/#', to: '', qos: 1, priority: 5, queueQos0: true, batch: { maxMessages: 100, maxDelayMs: 1000, topic: '{to}batch' } })
  assert.equal(cfg.receive[0], { from: 'cmd/#', to: '', qos: 1 })
  assert.is(cfg.stateSync, undefined)
  assert.ok(Object.isFrozen(cfg.forward[0]))
  for (const bad of [
    { url: 'mqtt://x', nope: 1 },
    { url: 'mqtt://x', outbox: { maxBytes: 2048, extra: true } },
    { url: 'mqtt://x', forward: [{ from: 'a', priority: 12 }] },
    { url: 'http://x' },
    { url: 'mqtt://x', protocolVersion: 3 },
    { url: 'mqtt://x', cert: '/c.pem' },
    { url: 'mqtt://x', backoff: { minMs: 10, maxMs: 5 } },
  ]) {
    let err: unknown
    try { resolveCloudConfig(bad as never) } catch (e) { err = e }
    assert.ok(isMechaError(err, 'MECHA_ERR_CONFIG_INVALID'), JSON.stringify(bad))
  }
  // The schema itself is plain draft-07 the loader's ajv accepts, with useDefaults and allErrors.
  const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false })
  const data: Record<string, unknown> = { url: 'mqtt://x', stateSync: {} }
  assert.ok(ajv.validate(cloudSchema, data))
  assert.equal(data.stateSync, { store: 'statestore', prefix: '', topic: 'gateways/{id}/state', coalesceMs: 200, qos: 1 })
})

test('status - the stream is a typed emitter and an async iterator starting at the current status', async () => {
  const s = new StatusStream<any>({ type: 'disconnected', reason: 'not started', at: 0 })
  const seen: string[] = []
  const off = s.on((x) => seen.push(x.type))
  const it = s[Symbol.asyncIterator]()
  s.emit({ type: 'connecting', url: 'mqtt://x', attempt: 1, at: 1 })
  s.emit({ type: 'connected', url: 'mqtt://x', protocolVersion: 5, at: 2 })
  assert.equal((await it.next()).value?.type, 'disconnected')
  assert.equal((await it.next()).value?.type, 'connecting')
  assert.equal((await it.next()).value?.type, 'connected')
  off()
  s.emit({ type: 'drained', at: 3 })
  assert.equal(seen, ['connecting', 'connected'])
  const pending = it.next()
  s.close()
  assert.equal((await pending).value?.type, 'drained')
  assert.is((await it.next()).done, true)
})

test('outbox-entry - round-trips and detects corruption', () => {
  const e = { id: 'ab-1', seq: 1, priority: 3, topic: 'gw/a', localTopic: 'a', payload: Buffer.from([0, 1, 2]), qos: 1 as const, retain: true, ts: 10, expiresAt: 0 }
  const raw = encodeEntry(e)
  assert.equal(decodeEntry(raw), e)
  const bad = Buffer.from(raw); bad[6] ^= 1
  assert.throws(() => decodeEntry(bad), /checksum/)
  assert.throws(() => decodeEntry('text'), /byte string/)
})

test.run()
