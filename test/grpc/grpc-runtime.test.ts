/**
 * The gRPC API and gRPC apps through the whole runtime (`spawnRuntime`: the process `npm start` runs): an app
 * declared `appProtocol: grpc` gets a declarative subscription's events over AppCallback OnTopicEvent through the
 * real SubscriptionManager path (RETRY twice then SUCCESS = three deliveries); while the app is down its events
 * wait in the broker and arrive, in order, once it is back; it is invoked over OnInvoke. The app is an in-test
 * @grpc/grpc-js server from the runtime's own descriptor, on 127.0.0.1, port 0.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type * as GrpcJs from '@grpc/grpc-js'
import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from '@dapr/dapr'
import { loadGrpc } from '../../edge/grpc/load.ts'
import { spawnRuntime, testConfig, type Spawned } from '../helpers/runtime.ts'

const within = async <T>(p: Promise<T>, ms = 10_000, what = 'the call'): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`${what} did not finish within ${ms} ms`)) }, ms) })])
  } finally { clearTimeout(timer) }
}
const until = async (cond: () => boolean, ms = 15_000, what = 'the condition'): Promise<void> => {
  const end = Date.now() + ms
  while (!cond()) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 20)) }
}

/** The address the runtime logged for `key` in its "mecha is running" line (edge/runtime.ts flatAddresses). */
function loggedAddress (rt: Spawned, key: string): { host: string; port: number } {
  const line = rt.output().split('\n').find((l) => l.includes('"mecha is running"'))
  const v = line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>)[key]
  if (typeof v !== 'string') throw new Error(`no ${key} address in the running line:\n${rt.output()}`)
  const i = v.lastIndexOf(':')
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) }
}

interface Event { topic: string; path: string; data: unknown; id: string }

/** A gRPC app: AppCallback with a scripted OnTopicEvent status per delivery, OnInvoke echoing. */
class GrpcApp {
  readonly events: Event[] = []
  answer: (e: Event, n: number) => 'SUCCESS' | 'RETRY' | 'DROP' = () => 'SUCCESS'
  #server: GrpcJs.Server | undefined
  port = 0

  async start (port = 0): Promise<void> {
    const { grpc, v1 } = await loadGrpc()
    const server = new grpc.Server()
    server.addService(v1.AppCallback.service, {
      ListTopicSubscriptions: (_call: unknown, cb: GrpcJs.sendUnaryData<unknown>) => { cb(null, { subscriptions: [] }) },
      OnTopicEvent: (call: GrpcJs.ServerUnaryCall<any, unknown>, cb: GrpcJs.sendUnaryData<unknown>) => {
        const r = call.request
        const e = { topic: r.topic, path: r.path, id: r.id, data: JSON.parse(Buffer.from(r.data).toString('utf8')) }
        this.events.push(e)
        cb(null, { status: this.answer(e, this.events.length) })
      },
      OnInvoke: (call: GrpcJs.ServerUnaryCall<any, unknown>, cb: GrpcJs.sendUnaryData<unknown>) => {
        const r = call.request
        const body = JSON.stringify({ method: r.method, verb: r.http_extension?.verb, query: r.http_extension?.querystring, body: Buffer.from(r.data?.value ?? []).toString('utf8'), caller: call.metadata.get('dapr-caller-app-id')[0] })
        cb(null, { data: { type_url: '', value: Buffer.from(body) }, content_type: 'application/json' })
      },
      ListInputBindings: (_call: unknown, cb: GrpcJs.sendUnaryData<unknown>) => { cb(null, { bindings: [] }) },
      OnBindingEvent: (_call: unknown, cb: GrpcJs.sendUnaryData<unknown>) => { cb(null, {}) },
    })
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => { if (err != null) reject(err); else resolve(p) })
    })
    this.#server = server
  }

  /** Gone at once, connections cut (the app crashed). */
  stop (): void { this.#server?.forceShutdown(); this.#server = undefined }
}

const sub = (name: string, topic: string): Record<string, unknown> => ({
  apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name },
  spec: { pubsubname: 'pubsub', topic, routes: { default: `/${topic}` }, metadata: { retryIntervalMs: '50', retryMaxIntervalMs: '100', maxRetries: '5' } },
  scopes: ['orders'],
})

test('grpc runtime - a gRPC app: RETRY twice then SUCCESS is three deliveries; events published while it is down arrive in order once it is back; OnInvoke', async () => {
  const app = new GrpcApp()
  await app.start()
  const config = await testConfig({
    apps: [{ id: 'orders', appPort: app.port, appProtocol: 'grpc' }],
    subscriptions: [sub('jobs', 'jobs'), sub('queue', 'queue')],
  })
  const rt = await spawnRuntime({ config, timeoutMs: 30_000 })
  const grpcAddr = loggedAddress(rt, 'grpc')
  const c = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(grpcAddr.port), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: { level: LogLevel.Error } })
  try {
    assert.is(grpcAddr.host, '127.0.0.1')
    // RETRY, RETRY, SUCCESS.
    app.answer = (e) => (app.events.filter((x) => x.id === e.id).length < 3 ? 'RETRY' : 'SUCCESS')
    await within(c.pubsub.publish('pubsub', 'jobs', { n: 1 }))
    await until(() => app.events.length >= 3, 15_000, 'three deliveries')
    await new Promise((r) => setTimeout(r, 500))
    assert.is(app.events.length, 3, JSON.stringify(app.events))
    assert.ok(app.events.every((e) => e.topic === 'jobs' && e.path === '/jobs' && e.id === app.events[0].id), JSON.stringify(app.events))
    assert.equal(app.events[0].data, { n: 1 })

    // Invocation over OnInvoke, verb and query in http_extension.
    const res = await within(c.invoker.invoke('orders', 'hello?x=1', HttpMethod.POST, { hi: 1 })) as any
    assert.equal({ method: res.method, verb: res.verb, query: res.query, body: JSON.parse(res.body) }, { method: 'hello', verb: 'POST', query: 'x=1', body: { hi: 1 } })

    // The app goes down; what is published meanwhile waits in the broker.
    app.answer = () => 'SUCCESS'
    app.events.length = 0
    const port = app.port
    app.stop()
    for (let i = 1; i <= 5; i++) await within(c.pubsub.publish('pubsub', 'queue', { i }))
    await new Promise((r) => setTimeout(r, 1000))
    assert.is(app.events.length, 0)
    await app.start(port)
    await until(() => app.events.length >= 5, 20_000, 'the five queued events')
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(app.events.map((e) => e.data), [1, 2, 3, 4, 5].map((i) => ({ i })), JSON.stringify(app.events))
  } finally {
    await c.stop()
    app.stop()
    await rt.stop()
  }
})

test.run()
