import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { closeAll, collect, connect } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

const test = suite<{ rt: Runtime; base: string; sub: MqttClient; got: Array<{ topic: string; payload: Buffer; retain: boolean; qos: number }> }>('pubsub publish')

test.before(async (ctx) => {
  ctx.rt = await startRuntime({
    id: 'gw-pub',
    mqtt: { maxPayloadBytes: 4096 },
    api: { maxBodyBytes: 8192 },
    components: [{ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'edge-bus' }, spec: { type: 'pubsub.mqtt', version: 'v1', metadata: [] } }],
  })
  ctx.base = `http://127.0.0.1:${ctx.rt.addresses.api!.port}`
  ctx.sub = await connect(`mqtt://127.0.0.1:${ctx.rt.addresses.mqtt!.port}`, { clientId: 'pub-watcher' })
  ctx.got = []
  // Listening before the SUBACK: a retained message would come right behind it, maybe in the same read.
  ctx.sub.on('message', (topic, payload, packet) => { ctx.got.push({ topic, payload, retain: packet.retain, qos: packet.qos }) })
  await ctx.sub.subscribeAsync('#', { qos: 1 })
})
test.after(async (ctx) => { await closeAll(ctx.sub); await ctx.rt.stop(); await cleanupTmp() })
test.before.each((ctx) => { ctx.got.length = 0 })

const post = (base: string, path: string, body: string | Buffer, contentType?: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...headers }, body: body as BodyInit })

async function settle (): Promise<void> { await new Promise((resolve) => setTimeout(resolve, 150)) }

test('pubsub publish - rawPayload JSON is passed on byte for byte, not re-serialised', async ({ base, got }) => {
  const text = '{ "temp" : 21.0,\n  "unit": "C" }'
  const res = await post(base, '/v1.0/publish/pubsub/raw/json?metadata.rawPayload=true', text, 'application/json')
  assert.is(res.status, 204)
  await settle()
  assert.is(got.length, 1)
  assert.is(got[0].payload.toString(), text)
})

test('pubsub publish - JSON body reaches an MQTT subscriber as a CloudEvent on the same topic, after the 204', async ({ base, got }) => {
  const res = await post(base, '/v1.0/publish/pubsub/sensors/t1', JSON.stringify({ temp: 21 }), 'application/json', { 'dapr-app-id': 'thermo', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
  assert.is(res.status, 204)
  await settle()
  assert.is(got.length, 1)
  assert.is(got[0].topic, 'sensors/t1')
  assert.is(got[0].qos, 1)
  const ce = JSON.parse(got[0].payload.toString())
  assert.equal(ce.data, { temp: 21 })
  assert.is(ce.specversion, '1.0')
  assert.is(ce.type, 'com.dapr.event.sent')
  assert.is(ce.source, 'thermo')
  assert.is(ce.datacontenttype, 'application/json')
  assert.is(ce.topic, 'sensors/t1')
  assert.is(ce.pubsubname, 'pubsub')
  assert.is(ce.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
  assert.type(ce.id, 'string')
  assert.ok(Math.abs(Date.parse(ce.time) - Date.now()) < 5000)
})

test('pubsub publish - text as data string, octet-stream as data_base64, on a pubsub.mqtt component', async ({ base, got }) => {
  assert.is((await post(base, '/v1.0/publish/edge-bus/notes', 'hello', 'text/plain')).status, 204)
  assert.is((await post(base, '/v1.0/publish/edge-bus/blobs', Buffer.from([0, 1, 2, 255]), 'application/octet-stream')).status, 204)
  await settle()
  const [a, b] = got.map((m) => JSON.parse(m.payload.toString()))
  assert.is(a.data, 'hello'); assert.is(a.datacontenttype, 'text/plain'); assert.is(a.pubsubname, 'edge-bus')
  assert.is(b.data_base64, Buffer.from([0, 1, 2, 255]).toString('base64')); assert.is(b.data, undefined)
})

test('pubsub publish - rawPayload publishes the body verbatim; qos and retain metadata honoured', async ({ base, got, rt }) => {
  assert.is((await post(base, '/v1.0/publish/pubsub/raw/t?metadata.rawPayload=true&metadata.qos=0&metadata.retain=true', '{"temp":22}', 'application/json')).status, 204)
  await settle()
  assert.is(got.length, 1)
  assert.is(got[0].payload.toString(), '{"temp":22}')
  assert.is(got[0].qos, 0)
  // Retained: a new subscriber gets it.
  const late = await connect(`mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`, { clientId: 'late' })
  const p = collect(late, 1, 3000)
  await late.subscribeAsync('raw/t', { qos: 1 })
  const [m] = await p
  assert.is(m.payload, '{"temp":22}'); assert.is(m.retain, true)
  await closeAll(late)
})

test('pubsub publish - application/cloudevents+json is kept (completed), ttlInSeconds sets expiration', async ({ base, got }) => {
  const ce = { specversion: '1.0', id: 'my-id', source: 'my-src', type: 'my.type', datacontenttype: 'application/json', data: { a: 1 } }
  assert.is((await post(base, '/v1.0/publish/pubsub/ce/t?metadata.ttlInSeconds=30', JSON.stringify(ce), 'application/cloudevents+json')).status, 204)
  await settle()
  const out = JSON.parse(got[0].payload.toString())
  assert.is(out.id, 'my-id'); assert.is(out.source, 'my-src'); assert.is(out.type, 'my.type'); assert.equal(out.data, { a: 1 })
  assert.is(out.topic, 'ce/t'); assert.is(out.pubsubname, 'pubsub')
  const exp = Date.parse(out.expiration)
  assert.ok(exp > Date.now() + 25_000 && exp < Date.now() + 35_000, out.expiration)
})

test('pubsub publish - bad input: 4xx with a Dapr error code, nothing published', async ({ base, got }) => {
  const cases: Array<[string, string | Buffer, string, number, string]> = [
    ['/v1.0/publish/nope/t', '{}', 'application/json', 404, 'ERR_PUBSUB_NOT_FOUND'],
    ['/v1.0/publish/pubsub/a/%23', '{}', 'application/json', 400, 'ERR_TOPIC_INVALID'],
    ['/v1.0/publish/pubsub/a/+/b', '{}', 'application/json', 400, 'ERR_TOPIC_INVALID'],
    [`/v1.0/publish/pubsub/${'x'.repeat(1100)}`, '{}', 'application/json', 400, 'ERR_TOPIC_INVALID'],
    ['/v1.0/publish/pubsub/t', 'x'.repeat(9000), 'text/plain', 413, 'ERR_BODY_TOO_LARGE'],
    // Fits the API's body limit but not, once wrapped, mqtt.maxPayloadBytes.
    ['/v1.0/publish/pubsub/t', 'x'.repeat(4090), 'text/plain', 413, 'ERR_BODY_TOO_LARGE'],
    ['/v1.0/publish/pubsub/t', '{"specversion":"1.0",', 'application/cloudevents+json', 400, 'ERR_PUBSUB_CLOUD_EVENTS_SER'],
    ['/v1.0/publish/pubsub/t', '[1,2]', 'application/cloudevents+json', 400, 'ERR_PUBSUB_CLOUD_EVENTS_SER'],
    ['/v1.0/publish/pubsub/t', '{"specversion":"0.3"}', 'application/cloudevents+json', 400, 'ERR_PUBSUB_CLOUD_EVENTS_SER'],
    ['/v1.0/publish/pubsub/t', '{"a":', 'application/json', 400, 'ERR_MALFORMED_REQUEST'],
    ['/v1.0/publish/pubsub/t?metadata.ttlInSeconds=soon', '{}', 'application/json', 400, 'ERR_PUBSUB_REQUEST_METADATA'],
    ['/v1.0/publish/pubsub/t?metadata.qos=3', '{}', 'application/json', 400, 'ERR_PUBSUB_REQUEST_METADATA'],
  ]
  for (const [path, body, ct, status, code] of cases) {
    const res = await post(base, path, body, ct)
    assert.is(res.status, status, `${path.slice(0, 60)} (${ct})`)
    const b = await res.json() as { errorCode: string; message: string }
    assert.is(b.errorCode, code, path.slice(0, 60))
    assert.type(b.message, 'string')
  }
  // An empty topic has no route of its own.
  const empty = await post(base, '/v1.0/publish/pubsub/', '{}', 'application/json')
  assert.ok(empty.status >= 400 && empty.status < 500, String(empty.status))
  await settle()
  assert.is(got.length, 0)
})

test('pubsub publish - bulk: every entry published in order; a bad entry rejects all', async ({ base, got }) => {
  const entries = [
    { entryId: '1', event: { n: 1 }, contentType: 'application/json' },
    { entryId: '2', event: 'two', contentType: 'text/plain' },
    { entryId: '3', event: { specversion: '1.0', id: 'c3', source: 's', type: 't', data: 3 }, contentType: 'application/cloudevents+json' },
  ]
  const res = await post(base, '/v1.0-alpha1/publish/bulk/pubsub/bulk/t', JSON.stringify(entries), 'application/json')
  assert.is(res.status, 204)
  await settle()
  assert.equal(got.map((m) => JSON.parse(m.payload.toString()).data), [{ n: 1 }, 'two', 3])
  got.length = 0
  const bad = await post(base, '/v1.0-alpha1/publish/bulk/pubsub/bulk/t', JSON.stringify([{ entryId: 'a', event: 1 }, { entryId: 'a', event: 2 }]), 'application/json')
  assert.is(bad.status, 400)
  assert.is((await bad.json() as any).errorCode, 'ERR_PUBSUB_EVENTS_SER')
  const nf = await post(base, '/v1.0-alpha1/publish/bulk/nope/t', '[]', 'application/json')
  assert.is(nf.status, 404)
  await settle()
  assert.is(got.length, 0)
})

// A publish the outbox refuses (a 500 with failedEntries, nothing delivered): publish-outbox-full.test.ts.

test.run()
