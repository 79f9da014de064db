import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { DaprPubSubStatusEnum, type DaprClient, type DaprServer } from '@dapr/dapr'
import type { MqttClient } from 'mqtt'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { closeAll, collect, connect } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { eventually, subscriptionsOf, subscriptionsReady } from '../helpers/runtime-view.ts'
import { freePort, waitUntil } from './test-app.ts'
import { daprClient, daprServer, expressOf } from './dapr-app.ts'

interface Got { route: string; data: any }
const test = suite<{ rt: Runtime; server: DaprServer; client: DaprClient; mqtt: MqttClient; got: Got[] }>('pubsub dapr-sdk')

test.before(async (ctx) => {
  const appPort = await freePort()
  ctx.rt = await startRuntime({
    id: 'gw-sdk',
    log: { level: process.env.MECHA_TEST_LEVEL ?? 'warn' },
    apps: [{ id: 'sdk-app', appPort }],
    subscriptions: [{ apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 'orders' }, spec: { pubsubname: 'pubsub', topic: 'orders', routes: { default: '/orders-declarative' } }, scopes: ['sdk-app'] }],
  })
  const daprPort = ctx.rt.addresses.api!.port
  ctx.got = []
  const got = ctx.got
  ctx.server = daprServer(appPort, daprPort)
  await ctx.server.pubsub.subscribe('pubsub', 'sensors/#', async (data: unknown) => { got.push({ route: 'sensors', data }) })
  let fails = 0
  await ctx.server.pubsub.subscribeWithOptions('pubsub', 'flaky-sdk', {
    metadata: { retryIntervalMs: '20', maxRetries: '5' },
    callback: async (data: any) => {
      if (fails++ < 3) return DaprPubSubStatusEnum.RETRY
      got.push({ route: 'flaky', data })
      return DaprPubSubStatusEnum.SUCCESS
    },
  })
  await ctx.server.pubsub.subscribeBulk('pubsub', 'bulk-sdk', async (data: unknown) => { got.push({ route: 'bulk', data }) }, { maxMessagesCount: 5, maxAwaitDurationMs: 100 })
  expressOf(ctx.server).post('/orders-declarative', (req, res) => { got.push({ route: 'orders', data: req.body.data }); res.send({ status: 'SUCCESS' }) })
  await ctx.server.start()
  ctx.client = daprClient(daprPort)
  await ctx.client.start()
  ctx.mqtt = await connect(`mqtt://127.0.0.1:${ctx.rt.addresses.mqtt!.port}`, { clientId: 'sdk-mqtt' })
  await eventually(async () => await subscriptionsReady(ctx.rt, 'sdk-app') && (await subscriptionsOf(ctx.rt)).length === 4, 10_000, 'programmatic subscriptions')
})
test.after(async (ctx) => {
  await closeAll(ctx.mqtt)
  await ctx.client.stop().catch(() => {})
  await ctx.server.stop().catch(() => {})
  await ctx.rt.stop()
  await cleanupTmp()
})

const of = (got: Got[], route: string): any[] => got.filter((g) => g.route === route).map((g) => g.data)

test('pubsub dapr-sdk - programmatic subscriptions come from GET /dapr/subscribe; declarative ones from the config', async ({ rt }) => {
  const list = (await subscriptionsOf(rt)).map((s) => `${s.type}:${s.topic}`).sort()
  assert.equal(list, ['DECLARATIVE:orders', 'PROGRAMMATIC:bulk-sdk', 'PROGRAMMATIC:flaky-sdk', 'PROGRAMMATIC:sensors/#'])
})

test('pubsub dapr-sdk - DaprClient publishes; the declarative route and a programmatic wildcard subscriber get the data', async ({ client, got }) => {
  const r1 = await client.pubsub.publish('pubsub', 'orders', { orderId: 1 })
  assert.equal(r1, {})
  await client.pubsub.publish('pubsub', 'sensors/t9', { temp: 9 })
  await waitUntil(() => of(got, "orders").length === 1 && of(got, "sensors").length === 1).catch((err) => { console.log(JSON.stringify(got)); throw err })
  assert.equal(of(got, 'orders'), [{ orderId: 1 }])
  assert.equal(of(got, 'sensors'), [{ temp: 9 }])
})

test('pubsub dapr-sdk - a raw MQTT publish of {"temp":21} on sensors/t1 reaches the DaprServer subscriber of sensors/#', async ({ mqtt, got }) => {
  await mqtt.publishAsync('sensors/t1', '{"temp":21}', { qos: 1 })
  await waitUntil(() => of(got, 'sensors').some((d) => d.temp === 21))
})

test('pubsub dapr-sdk - DaprClient publishes reach raw MQTT subscribers as CloudEvent JSON, or raw with rawPayload', async ({ client, rt }) => {
  const sub = await connect(`mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`, { clientId: 'sdk-watch' })
  await sub.subscribeAsync('cmd/#', { qos: 1 })
  const p = collect(sub, 2, 5000)
  await client.pubsub.publish('pubsub', 'cmd/a', { on: true })
  await client.pubsub.publish('pubsub', 'cmd/b', { on: false }, { metadata: { rawPayload: 'true' } })
  const [a, b] = await p
  const ce = JSON.parse(a.payload)
  assert.is(ce.specversion, '1.0'); assert.equal(ce.data, { on: true }); assert.is(ce.topic, 'cmd/a')
  assert.equal(JSON.parse(b.payload), { on: false })
  await closeAll(sub)
})

test('pubsub dapr-sdk - a subscriber answering RETRY three times gets the event once successfully', async ({ client, got }) => {
  await client.pubsub.publish('pubsub', 'flaky-sdk', { n: 42 })
  await waitUntil(() => of(got, 'flaky').length === 1, 5000)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(of(got, 'flaky'), [{ n: 42 }])
})

test('pubsub dapr-sdk - DaprClient bulk publish to an SDK bulk subscriber: every entry, in order', async ({ client, got }) => {
  const res = await client.pubsub.publishBulk('pubsub', 'bulk-sdk', [...Array(12).keys()].map((n) => ({ n })))
  assert.equal(res.failedMessages, [])
  await waitUntil(() => of(got, 'bulk').length === 12, 5000)
  assert.equal(of(got, 'bulk').map((d) => d.n), [...Array(12).keys()])
})

test.run()
