import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { closeAll, collect, connect } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { deliveryOutcomes, eventually, subscriptionsOf, subscriptionsReady } from '../helpers/runtime-view.ts'
import { TestApp, freePort } from './test-app.ts'

/** Fast retries so the budget runs out in well under a second. */
const FAST = { retryIntervalMs: '20', retryMaxIntervalMs: '80', maxRetries: '4' }

function sub (name: string, topic: string, spec: Record<string, unknown>, scopes?: string[]): object {
  return { apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name }, spec: { pubsubname: 'pubsub', topic, metadata: FAST, ...spec }, ...(scopes === undefined ? {} : { scopes }) }
}

const test = suite<{ rt: Runtime; app: TestApp; base: string; mqtt: MqttClient }>('pubsub delivery')

test.before(async (ctx) => {
  ctx.app = await TestApp.start()
  const gonePort = await freePort()
  ctx.rt = await startRuntime({
    id: 'gw-sub',
    apps: [{ id: 'subscriber', appPort: ctx.app.port }, { id: 'gone', appPort: gonePort }],
    subscriptions: [
      sub('sensors', 'sensors/#', { route: '/sensors' }, ['subscriber']),
      sub('flaky', 'flaky', { route: '/flaky' }, ['subscriber']),
      sub('broken', 'broken', { routes: { default: '/broken' }, deadLetterTopic: 'dead/broken' }, ['subscriber']),
      sub('deadletters', 'dead/+', { route: '/dead' }, ['subscriber']),
      sub('events', 'events', { routes: { rules: [{ match: 'event.data.kind == "alarm"', path: '/alarms' }], default: '/events' } }, ['subscriber']),
      sub('statuses', 'statuses', { route: '/statuses' }, ['subscriber']),
      sub('raw', 'raw/in', { route: '/raw', metadata: { ...FAST, rawPayload: 'true' } }, ['subscriber']),
      sub('hang', 'hang', { route: '/hang', metadata: { ...FAST, timeoutMs: '20000' } }, ['subscriber']),
      sub('slow', 'slow', { route: '/slow', metadata: { ...FAST, timeoutMs: '20000' } }, ['subscriber']),
      sub('garbage', 'garbage', { route: '/garbage' }, ['subscriber']),
      sub('ok', 'ok', { route: '/ok' }, ['subscriber']),
      sub('to-gone', 'ok', { route: '/ok' }, ['gone']),
      sub('bulk', 'bulk', { route: '/bulk', bulkSubscribe: { enabled: true, maxMessagesCount: 10, maxAwaitDurationMs: 100 } }, ['subscriber']),
    ],
  })
  ctx.base = `http://127.0.0.1:${ctx.rt.addresses.api!.port}`
  ctx.mqtt = await connect(`mqtt://127.0.0.1:${ctx.rt.addresses.mqtt!.port}`, { clientId: 'sensor-1' })
  await eventually(() => subscriptionsReady(ctx.rt, 'subscriber'), 10_000, 'the subscriber app to be found')
})
test.after(async (ctx) => { await closeAll(ctx.mqtt); await ctx.rt.stop(); await ctx.app.close(); await cleanupTmp() })

const publish = (base: string, topic: string, data: unknown, query = ''): Promise<Response> =>
  fetch(`${base}/v1.0/publish/pubsub/${topic}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) })

test('pubsub delivery - MQTT {"temp":21} on sensors/t1 reaches the sensors/# subscriber as a CloudEvent with JSON data', async ({ app, mqtt }) => {
  await mqtt.publishAsync('sensors/t1', '{"temp":21}', { qos: 1 })
  await app.waitFor(() => app.at('/sensors').length === 1)
  const r = app.at('/sensors')[0]
  assert.is(r.method, 'POST')
  assert.match(String(r.headers['content-type']), 'application/cloudevents+json')
  assert.equal(r.json.data, { temp: 21 })
  assert.is(r.json.datacontenttype, 'application/json')
  assert.is(r.json.topic, 'sensors/t1')
  assert.is(r.json.pubsubname, 'pubsub')
  assert.is(r.json.specversion, '1.0')
  assert.type(r.json.id, 'string')
})

test('pubsub delivery - a non-JSON MQTT payload arrives as raw bytes (data_base64, application/octet-stream)', async ({ app, mqtt }) => {
  const bytes = Buffer.from([0x01, 0x02, 0xfe, 0x41])
  await mqtt.publishAsync('sensors/bin', bytes, { qos: 1 })
  await app.waitFor(() => app.at('/sensors').some((r) => r.json.topic === 'sensors/bin'))
  const r = app.at('/sensors').find((x) => x.json.topic === 'sensors/bin')!
  assert.is(r.json.datacontenttype, 'application/octet-stream')
  assert.is(Buffer.from(r.json.data_base64, 'base64').compare(bytes), 0)
})

test('pubsub delivery - rawPayload subscription gets even a CloudEvent as bytes', async ({ app, base }) => {
  assert.is((await publish(base, 'raw/in', { v: 1 })).status, 204)
  await app.waitFor(() => app.at('/raw').length === 1)
  const inner = JSON.parse(Buffer.from(app.at('/raw')[0].json.data_base64, 'base64').toString())
  assert.equal(inner.data, { v: 1 })
  assert.is(inner.specversion, '1.0')
})

test('pubsub delivery - fails 3 times, then succeeds: delivered exactly once as successful, after retries', async ({ app, base, rt }) => {
  let calls = 0
  app.on('/flaky', () => (++calls <= 3 ? { status: 500, body: 'not yet' } : { status: 200, body: { status: 'SUCCESS' } }))
  assert.is((await publish(base, 'flaky', { n: 1 })).status, 204)
  await app.waitFor(() => calls === 4)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.is(calls, 4)
  const ids = new Set(app.at('/flaky').map((r) => r.json.id))
  assert.is(ids.size, 1, 'the same event each time')
  assert.equal(await deliveryOutcomes(rt, 'subscriber', 'flaky'), { success: 1, drop: 0, deadletter: 0, expired: 0, retries: 3 })
})

test('pubsub delivery - always failing: after the retry budget the event goes to the dead-letter topic, where another subscriber gets it', async ({ app, base, rt }) => {
  app.on('/broken', () => ({ status: 503 }))
  const watcher = await connect(`mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`, { clientId: 'dl-watcher' })
  const seen = collect(watcher, 1, 10_000)
  await watcher.subscribeAsync('dead/broken', { qos: 1 })
  assert.is((await publish(base, 'broken', { order: 7 })).status, 204)
  await app.waitFor(() => app.at('/dead').length === 1, 10_000, 'the dead-letter subscriber')
  assert.is(app.at('/broken').length, 5, '1 attempt + 4 retries')
  const dead = app.at('/dead')[0].json
  assert.equal(dead.data, { order: 7 })
  assert.is(dead.id, app.at('/broken')[0].json.id)
  assert.is(dead.topic, 'dead/broken')
  const [m] = await seen
  assert.equal(JSON.parse(m.payload).data, { order: 7 })
  assert.is((await deliveryOutcomes(rt, 'subscriber', 'broken')).deadletter, 1)
  await closeAll(watcher)
})

test('pubsub delivery - CEL routing: event.data.kind == "alarm" to /alarms, others to the default route', async ({ app, base }) => {
  await publish(base, 'events', { kind: 'alarm', v: 1 })
  await publish(base, 'events', { kind: 'info', v: 2 })
  await publish(base, 'events', { v: 3 })
  await app.waitFor(() => app.at('/alarms').length + app.at('/events').length === 3)
  assert.equal(app.at('/alarms').map((r) => r.json.data.v), [1])
  assert.equal(app.at('/events').map((r) => r.json.data.v), [2, 3])
})

test('pubsub delivery - DROP and 404 drop (counted, no retry); RETRY retries; empty 200 is success', async ({ app, base, rt }) => {
  const answers: Record<number, () => object> = {
    1: () => ({ status: 200, body: { status: 'DROP' } }),
    2: () => ({ status: 404 }),
    3: () => (app.at('/statuses').filter((r) => r.json.data.n === 3).length < 2 ? { status: 200, body: { status: 'RETRY' } } : { status: 200, body: '' }),
  }
  app.on('/statuses', (r) => answers[r.json.data.n as number]())
  for (const n of [1, 2, 3]) await publish(base, 'statuses', { n })
  await app.waitFor(() => app.at('/statuses').length === 4)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(app.at('/statuses').map((r) => r.json.data.n), [1, 2, 3, 3])
  assert.is((await deliveryOutcomes(rt, 'subscriber', 'statuses')).drop, 2)
})

test('pubsub delivery - an event whose ttlInSeconds passed while it waited is not delivered', async ({ app, base, rt }) => {
  app.on('/slow', (r) => (r.json.data.n === 1 ? { delayMs: 1600 } : {}))
  await publish(base, 'slow', { n: 1 })
  await publish(base, 'slow', { n: 2 }, '?metadata.ttlInSeconds=1')
  await publish(base, 'slow', { n: 3 })
  await app.waitFor(() => app.at('/slow').length === 2, 8000)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(app.at('/slow').map((r) => r.json.data.n), [1, 3])
  assert.is((await deliveryOutcomes(rt, 'subscriber', 'slow')).expired, 1)
})

test('pubsub delivery - a hung, a garbage-answering and a vanished app never hold up other subscriptions', async ({ app, base }) => {
  app.on('/hang', () => ({ delayMs: 15_000 }))
  app.on('/garbage', () => ({ status: 500, body: '<<<%%% not json' }))
  await publish(base, 'hang', { n: 1 })
  await publish(base, 'garbage', { n: 1 })
  await app.waitFor(() => app.at('/hang').length === 1 && app.at('/garbage').length >= 1)
  // `ok` also has a subscription for the app "gone", which never answers: it must not matter.
  const t0 = Date.now()
  for (let n = 0; n < 20; n++) await publish(base, 'ok', { n })
  await app.waitFor(() => app.at('/ok').length === 20, 5000)
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`)
  assert.equal(app.at('/ok').map((r) => r.json.data.n), [...Array(20).keys()])
})

test('pubsub delivery - bulk subscribe: batches of at most maxMessagesCount with per-entry statuses; a RETRY entry comes again', async ({ app, base }) => {
  let retried = false
  app.on('/bulk', (r) => ({
    status: 200,
    body: {
      statuses: r.json.entries.map((e: any) => {
        if (e.event.data.n === 5 && !retried) { retried = true; return { entryId: e.entryId, status: 'RETRY' } }
        return { entryId: e.entryId, status: 'SUCCESS' }
      }),
    },
  }))
  const res = await fetch(`${base}/v1.0-alpha1/publish/bulk/pubsub/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([...Array(25).keys()].map((n) => ({ entryId: String(n), event: { n }, contentType: 'application/json' }))) })
  assert.is(res.status, 204)
  const delivered = (): number[] => app.at('/bulk').flatMap((r) => r.json.entries.map((e: any) => e.event.data.n as number))
  await app.waitFor(() => delivered().length === 26, 10_000, 'all entries')
  const reqs = app.at('/bulk')
  assert.ok(reqs.length >= 3, `${reqs.length} bulk requests`)
  for (const r of reqs) {
    assert.ok(r.json.entries.length <= 10)
    assert.is(r.json.type, 'com.dapr.event.sent.bulk')
    assert.is(r.json.entries[0].contentType, 'application/cloudevents+json')
  }
  assert.equal([...new Set(delivered())].sort((a, b) => a - b), [...Array(25).keys()])
  assert.is(delivered().filter((n) => n === 5).length, 2)
})

test('pubsub delivery - /v1.0/metadata lists every subscription per app', async ({ rt }) => {
  const list = await subscriptionsOf(rt)
  assert.ok(list.some((s) => s.appId === 'subscriber' && s.topic === 'sensors/#' && s.type === 'DECLARATIVE'))
  assert.ok(list.some((s) => s.appId === 'gone' && s.topic === 'ok'))
})

test.run()
