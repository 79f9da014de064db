import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MechaError } from '../../core/errors.ts'
import { completeEnvelope, eventFromPayload, isExpired, newEnvelope } from '../../edge/pubsub/cloudevent.ts'
import { checkPublishTopic, filterMatches, filterProblem } from '../../edge/pubsub/topic.ts'
import { DEFAULT_RETRY, mayRetry, retryDelay } from '../../edge/pubsub/retry-policy.ts'
import { Router } from '../../edge/pubsub/router.ts'
import { bulkVerdictsOf, verdictOf } from '../../edge/pubsub/app-response.ts'
import { fromProgrammatic } from '../../edge/pubsub/subscription.ts'
import { parsePublishMetadata } from '../../edge/pubsub/publish-metadata.ts'

const code = (fn: () => unknown): string | undefined => { try { fn() } catch (err) { return (err as MechaError).code } return undefined }
const res = (status: number, body = ''): any => ({ kind: 'response', status, headers: {}, body: Buffer.from(body) })

test('pubsub units - envelope: JSON, text, binary, empty content type (text/plain), ttl → expiration', () => {
  const base = { topic: 't', pubsubname: 'pubsub', source: 'app', now: 1_000_000 }
  assert.equal(newEnvelope({ ...base, body: Buffer.from('{"a":1}'), contentType: 'application/json' }).data, { a: 1 })
  assert.is(newEnvelope({ ...base, body: Buffer.from('{bad'), contentType: 'application/json' }).data, '{bad')
  assert.is(newEnvelope({ ...base, body: Buffer.from('hi'), contentType: '' }).datacontenttype, 'text/plain')
  assert.is(newEnvelope({ ...base, body: Buffer.from([1, 2]), contentType: 'image/png' }).data_base64, 'AQI=')
  const ce = newEnvelope({ ...base, body: Buffer.from('x'), contentType: 'text/plain', ttlSeconds: 10, overrides: { id: 'fixed' } })
  assert.is(ce.id, 'fixed')
  assert.is(ce.expiration, new Date(1_010_000).toISOString())
  assert.ok(!isExpired(ce, 1_009_999)); assert.ok(isExpired(ce, 1_010_000))
  assert.is(code(() => completeEnvelope({ ...base, body: Buffer.from('"str"'), contentType: 'application/cloudevents+json' })), 'ERR_PUBSUB_CLOUD_EVENTS_SER')
  assert.is(code(() => completeEnvelope({ ...base, body: Buffer.from('{"id":5}'), contentType: 'application/cloudevents+json' })), 'ERR_PUBSUB_CLOUD_EVENTS_SER')
})

test('pubsub units - an MQTT payload as an event: CloudEvent kept, JSON as data, bytes as data_base64, rawPayload always bytes', () => {
  const o = { topic: 'a/b', pubsubname: 'pubsub', rawPayload: false }
  const ce = JSON.stringify({ specversion: '1.0', id: 'i', source: 's', type: 't', data: 1, topic: 'x' })
  assert.is(eventFromPayload(Buffer.from(ce), o).id, 'i')
  assert.is(eventFromPayload(Buffer.from(ce), o).topic, 'a/b')
  assert.equal(eventFromPayload(Buffer.from('[1,2]'), o).data, [1, 2])
  assert.is(eventFromPayload(Buffer.from('plain text'), o).data_base64, Buffer.from('plain text').toString('base64'))
  assert.is(eventFromPayload(Buffer.alloc(0), o).data_base64, '')
  assert.is(eventFromPayload(Buffer.from(ce), { ...o, rawPayload: true }).data_base64, Buffer.from(ce).toString('base64'))
})

test('pubsub units - topics: publish names and subscription filters follow MQTT 4.7', () => {
  assert.is(code(() => checkPublishTopic('')), 'ERR_TOPIC_NAME_EMPTY')
  for (const t of ['a/#', 'a/+/b', '#', 'a\u0000b', 'x'.repeat(1025)]) assert.is(code(() => checkPublishTopic(t)), 'ERR_TOPIC_INVALID', t)
  assert.is(code(() => checkPublishTopic('a/b/c')), undefined)
  for (const f of ['a/#', '+/b', '#', 'a/+/+']) assert.is(filterProblem(f), undefined, f)
  for (const f of ['a/#/b', 'a#', 'a/b+', '']) assert.type(filterProblem(f), 'string', f)
  assert.ok(filterMatches('sensors/#', 'sensors/t1')); assert.ok(filterMatches('sensors/#', 'sensors'))
  assert.ok(filterMatches('a/+/c', 'a/b/c')); assert.not.ok(filterMatches('a/+', 'a/b/c')); assert.not.ok(filterMatches('#', '$SYS/x'))
})

test('pubsub units - retry delays grow by the multiplier within the jitter band, capped; the budget ends', () => {
  const p = { ...DEFAULT_RETRY, maxIntervalMs: 2000 }
  assert.is(retryDelay(p, 0, () => 0.5), 500)
  assert.is(retryDelay(p, 1, () => 0.5), 750)
  assert.is(retryDelay(p, 0, () => 0), 250)
  assert.is(retryDelay(p, 0, () => 1), 750)
  assert.is(retryDelay(p, 20, () => 0.5), 2000)
  assert.ok(mayRetry(p, 4)); assert.not.ok(mayRetry(p, 5)); assert.ok(mayRetry({ ...p, maxRetries: -1 }, 1e6))
})

test('pubsub units - CEL routing: first matching rule, then the default; a failing rule does not match; bad CEL is rejected', () => {
  const r = new Router([{ match: 'event.data.kind == "alarm"', path: '/alarms' }, { match: 'event.data.temp > 30', path: '/hot' }], '/default')
  assert.is(r.route({ data: { kind: 'alarm' } } as any), '/alarms')
  assert.is(r.route({ data: { temp: 31.5 } } as any), '/hot')
  assert.is(r.route({ data: 'text' } as any), '/default')
  assert.is(new Router([{ match: 'event.type == "x"', path: '/x' }], undefined).route({ type: 'y' } as any), undefined)
  assert.throws(() => new Router([{ match: 'event.data ==', path: '/x' }], undefined), /not valid CEL/)
})

test('pubsub units - app answers: Dapr statuses, 404 drop, other errors retry, refused = unreachable; bulk statuses', () => {
  assert.is(verdictOf(res(200)).verdict, 'success')
  assert.is(verdictOf(res(204, 'garbage')).verdict, 'success')
  assert.is(verdictOf(res(200, '{"status":"drop"}')).verdict, 'drop')
  assert.is(verdictOf(res(200, '{"status":"RETRY"}')).verdict, 'retry')
  assert.is(verdictOf(res(200, '{"status":"WHAT"}')).verdict, 'retry')
  assert.is(verdictOf(res(404)).verdict, 'drop')
  assert.is(verdictOf(res(500)).verdict, 'retry')
  assert.is(verdictOf({ kind: 'timeout', message: 't' }).verdict, 'retry')
  assert.is(verdictOf({ kind: 'unreachable', message: 'ECONNREFUSED' }).verdict, 'unreachable')
  const b = bulkVerdictsOf(res(200, '{"statuses":[{"entryId":"a","status":"SUCCESS"},{"entryId":"b","status":"DROP"}]}'))
  assert.is(b.byEntry.get('a'), 'success'); assert.is(b.byEntry.get('b'), 'drop'); assert.is(b.byEntry.get('c'), undefined)
  assert.is(bulkVerdictsOf(res(500)).all?.verdict, 'retry')
})

test('pubsub units - programmatic subscriptions: valid entries kept, bad ones reported; SDK-quoted metadata unquoted', () => {
  const { subs, problems } = fromProgrammatic([
    { pubsubname: 'pubsub', topic: 'a', route: 'orders', metadata: { maxRetries: '"2"', rawPayload: 'true' } },
    { pubsubname: 'pubsub', topic: 'b/#/c', route: '/x' },
    { pubsubname: 'pubsub', topic: 'c' },
    { pubsubname: 'pubsub', topic: 'd', routes: { rules: [{ match: 'event.type == "t"', path: 'r' }], default: '/d' }, deadLetterTopic: 'dead', bulkSubscribe: { enabled: true } },
  ], 'app')
  assert.equal(subs.map((s) => s.topic), ['a', 'd'])
  assert.is(problems.length, 2)
  assert.is(subs[0].defaultPath, '/orders'); assert.is(subs[0].delivery.retry.maxRetries, 2); assert.ok(subs[0].rawPayload)
  assert.equal(subs[1].rules, [{ match: 'event.type == "t"', path: '/r' }])
  assert.equal(subs[1].bulk, { maxMessagesCount: 100, maxAwaitDurationMs: 1000 })
})

test('pubsub units - publish metadata: defaults qos 1, no retain; bad values are ERR_PUBSUB_REQUEST_METADATA', () => {
  assert.equal(parsePublishMetadata({}), { rawPayload: false, qos: 1, retain: false, overrides: {} })
  assert.is(parsePublishMetadata({ ttlInSeconds: '5', qos: '2', 'cloudevent.type': 'my.t' }, { rawPayload: 'true' }).qos, 2)
  assert.is(code(() => parsePublishMetadata({ rawPayload: 'maybe' })), 'ERR_PUBSUB_REQUEST_METADATA')
  assert.is(code(() => parsePublishMetadata({ ttlInSeconds: '-1' })), 'ERR_PUBSUB_REQUEST_METADATA')
})

test.run()
