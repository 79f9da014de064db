/**
 * The Dapr gRPC API through the official JS SDK (`CommunicationProtocolEnum.GRPC`): state with ETags, bulk,
 * transactions, publish, bindings, invocation of a gRPC app, subscription delivery over AppCallback
 * OnTopicEvent (RETRY twice then SUCCESS = three deliveries), the same results over HTTP, and the token rule.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { CommunicationProtocolEnum, DaprClient, DaprServer, DaprPubSubStatusEnum, HttpMethod, LogLevel, StateConcurrencyEnum } from '@dapr/dapr'
import { appConfig, createGrpcHarness } from '../helpers/grpc-harness.ts'

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => { resolve(p) }) })
})
const client = (port: number, token?: string): DaprClient => new DaprClient({ daprHost: '127.0.0.1', daprPort: String(port), communicationProtocol: CommunicationProtocolEnum.GRPC, ...(token ? { daprApiToken: token } : {}), logger: { level: LogLevel.Error } })
/** Every SDK call is bounded: a test fails, never hangs. */
const within = async <T>(p: Promise<T>, ms = 10_000, what = 'the call'): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`${what} did not finish within ${ms} ms`)) }, ms) })])
  } finally { clearTimeout(timer) }
}
const failure = async (p: Promise<unknown>): Promise<any> => await within(p.then(() => undefined, (e: unknown) => e ?? new Error('rejected with nothing')))
const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms
  while (!cond()) { if (Date.now() > end) throw new Error('timed out'); await new Promise((r) => setTimeout(r, 20)) }
}

test('grpc - state save, get with ETag, bulk get, delete and a transaction through the SDK', async () => {
  const h = await createGrpcHarness()
  const c = client(h.grpcPort)
  try {
    await c.state.save('statestore', [{ key: 'a', value: { n: 1 } }, { key: 'b', value: 'text' }])
    assert.equal(await c.state.get('statestore', 'a'), { n: 1 })
    const bulk = await c.state.getBulk('statestore', ['a', 'b', 'missing'])
    assert.equal(bulk.map((x: any) => x.key).sort(), ['a', 'b', 'missing'])
    assert.equal(bulk.find((x: any) => x.key === 'a')!.data, { n: 1 })
    const etag = bulk.find((x: any) => x.key === 'a')!.etag
    assert.ok(etag !== '')
    // ETags: a stale one is refused and changes nothing; the current one is taken and changes the ETag.
    const stale = await failure(c.state.save('statestore', [{ key: 'a', value: { n: 2 }, etag: 'not-the-etag', options: { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE } } as never]))
    assert.match(String(stale?.message), /ERR_STATE_SAVE/)
    assert.equal(await within(c.state.get('statestore', 'a')), { n: 1 })
    await within(c.state.save('statestore', [{ key: 'a', value: { n: 2 }, etag, options: { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE } } as never]))
    const after = (await within(c.state.getBulk('statestore', ['a'])))[0]!
    assert.equal(after.data, { n: 2 })
    assert.ok(after.etag !== etag && after.etag !== '')
    const staleDelete = await failure(c.state.delete('statestore', 'a', { etag, concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE } as never))
    assert.match(String(staleDelete?.message), /ERR_STATE_DELETE/)
    assert.is(staleDelete?.code, 10, 'ABORTED, as Dapr answers an ETag mismatch')
    assert.equal(await within(c.state.get('statestore', 'a')), { n: 2 })
    await c.state.transaction('statestore', [
      { operation: 'upsert', request: { key: 'c', value: '[1,2]' } },
      { operation: 'delete', request: { key: 'b' } },
    ])
    assert.equal(await c.state.get('statestore', 'c'), [1, 2])
    assert.is(await c.state.get('statestore', 'b'), '')
    await c.state.delete('statestore', 'c')
    assert.is(await c.state.get('statestore', 'c'), '')
    // Stored under the caller's scope, as over HTTP.
    assert.ok((await h.stores.get('statestore')!.get('test-gw||a')) !== undefined)
  } finally { await c.stop(); await h.close() }
})

test('grpc - the same operations over HTTP and gRPC give the same results', async () => {
  const h = await createGrpcHarness()
  const g = client(h.grpcPort)
  const http = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(h.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP, logger: { level: LogLevel.Error } })
  try {
    await g.state.save('statestore', [{ key: 'g', value: { from: 'grpc' } }])
    await http.state.save('statestore', [{ key: 'h', value: { from: 'http' } }])
    assert.equal(await http.state.get('statestore', 'g'), await g.state.get('statestore', 'g'))
    assert.equal(await g.state.get('statestore', 'h'), await http.state.get('statestore', 'h'))
    assert.equal(await g.state.get('statestore', 'h'), { from: 'http' })
    // An unknown store: Dapr's code on both.
    const e1 = await g.state.get('nope', 'x').then(() => undefined, (e: Error) => e)
    const e2 = await http.state.get('nope', 'x').then(() => undefined, (e: Error) => e)
    assert.match(String(e1?.message), /ERR_STATE_STORE_NOT_FOUND/)
    assert.match(String(e2?.message), /ERR_STATE_STORE_NOT_FOUND/)
  } finally { await g.stop(); await http.stop(); await h.close() }
})

test('grpc - publish reaches the bus as a CloudEvent; an unknown pubsub is refused with nothing published', async () => {
  const h = await createGrpcHarness()
  const c = client(h.grpcPort)
  const got: any[] = []
  await h.bus.subscribe('orders', (m) => { got.push(JSON.parse(m.payload.toString())) })
  try {
    await c.pubsub.publish('pubsub', 'orders', { id: 7 })
    await until(() => got.length === 1)
    assert.equal(got[0].data, { id: 7 })
    assert.is(got[0].topic, 'orders')
    // The SDK's gRPC publish rejects with `{ error: ConnectError }` (implementation/Client/GRPCClient/pubsub.js).
    const bad = (await failure(c.pubsub.publish('nope', 'orders', { id: 8 })))?.error
    assert.match(String(bad?.message), /ERR_PUBSUB_NOT_FOUND/)
    assert.is(bad?.code, 3, 'INVALID_ARGUMENT, as Dapr answers an unknown pubsub')
    // Dapr's richer error: an ErrorInfo detail (google.rpc.ErrorInfo: reason = 1, domain = 2) whose reason is the code.
    const info = (bad?.details ?? []).find((d: any) => d.type === 'google.rpc.ErrorInfo')
    assert.ok(info !== undefined, JSON.stringify(bad?.details))
    const infoText = Buffer.from(info.value).toString('latin1')
    assert.ok(infoText.includes('ERR_PUBSUB_NOT_FOUND') && infoText.includes('dapr.io'), infoText)
    await new Promise((r) => setTimeout(r, 100))
    assert.is(got.length, 1)
  } finally { await c.stop(); await h.close() }
})

test('grpc - InvokeBinding goes to the injected invoker', async () => {
  const calls: unknown[] = []
  const h = await createGrpcHarness({ bindings: async (name, operation, data, metadata) => { calls.push({ name, operation, data, metadata }); return { data: { ok: true }, metadata: { m: '1' } } } })
  const c = client(h.grpcPort)
  try {
    const r = await within(c.binding.send('probe', 'create', { v: 1 }, { k: 'x' })) as { data: Uint8Array; metadata: Record<string, string> }
    assert.equal(calls, [{ name: 'probe', operation: 'create', data: { v: 1 }, metadata: { k: 'x' } }])
    // Over gRPC the SDK hands back the response bytes as they came (InvokeBindingResponse.data).
    assert.equal(JSON.parse(Buffer.from(r.data).toString('utf8')), { ok: true })
    assert.equal(r.metadata, { m: '1' })
    // A failing binding: Dapr's code, and the invoker's reason.
    const h2 = await createGrpcHarness({ bindings: async () => { throw new Error('port closed') } })
    const c2 = client(h2.grpcPort)
    try {
      const e = await failure(c2.binding.send('probe', 'create', { v: 1 }))
      assert.match(String(e?.message), /ERR_INVOKE_OUTPUT_BINDING.*port closed/)
    } finally { await c2.stop(); await h2.close() }
  } finally { await c.stop(); await h.close() }
})

test('grpc - a DaprServer (SDK, gRPC mode) app: an event answered RETRY twice then SUCCESS arrives three times, and OnInvoke answers', async () => {
  const appPort = await freePort()
  const h = await createGrpcHarness({ apps: [appConfig('orders', appPort, 'grpc')] })
  const server = new DaprServer({ serverHost: '127.0.0.1', serverPort: String(appPort), communicationProtocol: CommunicationProtocolEnum.GRPC, clientOptions: { daprHost: '127.0.0.1', daprPort: String(h.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: { level: LogLevel.Error } }, logger: { level: LogLevel.Error } })
  let deliveries = 0
  const seen: unknown[] = []
  await server.pubsub.subscribe('pubsub', 'jobs', async (data: unknown) => {
    deliveries++
    seen.push(data)
    return deliveries < 3 ? DaprPubSubStatusEnum.RETRY : DaprPubSubStatusEnum.SUCCESS
  })
  await server.invoker.listen('hello', async (data: any) => ({ echo: data.body, query: data.query }), { method: HttpMethod.POST })
  const c = client(h.grpcPort)
  try {
    // start() binds the app, then waits for the sidecar (GetMetadata over gRPC, GRPCClient/sidecar.js).
    await within(server.start(), 10_000, 'DaprServer.start')
    h.subscriptions!.appStarted('orders')
    await until(() => h.subscriptions!.appReady('orders'))
    await within(c.pubsub.publish('pubsub', 'jobs', { n: 1 }))
    await until(() => deliveries >= 3)
    await new Promise((r) => setTimeout(r, 300))
    assert.is(deliveries, 3)
    assert.equal(seen, [{ n: 1 }, { n: 1 }, { n: 1 }])
    const res = await within(c.invoker.invoke('orders', 'hello?x=1', HttpMethod.POST, { hi: 1 })) as any
    assert.equal(JSON.parse(res.echo), { hi: 1 })
  } finally {
    await c.stop()
    // The runtime first: the SDK's server.stop() (http2 Server.close) waits for every client session to end,
    // and the runtime's channel to the app is one.
    await h.close()
    await within(server.stop(), 5000, 'DaprServer.stop').catch(() => {})
  }
})

/** A raw @grpc/grpc-js client of the Dapr service from the runtime's own descriptor: every method, any bytes. */
async function rawClient (port: number): Promise<{ grpc: typeof import('@grpc/grpc-js'); dapr: any; methods: [string, any][]; close(): void }> {
  const { loadGrpc } = await import('../../edge/grpc/load.ts')
  const { grpc, v1 } = await loadGrpc()
  const dapr = new v1.Dapr(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 })
  return { grpc, dapr, methods: Object.entries(v1.Dapr.service), close: () => { dapr.close() } }
}

/** One call with `bytes` as the request message, exactly as given; resolves to its status. */
function rawCall (dapr: any, grpc: typeof import('@grpc/grpc-js'), path: string, bytes: Buffer, md = new grpc.Metadata()): Promise<{ code: number; details: string; metadata?: any }> {
  return new Promise((resolve) => {
    dapr.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, md, { deadline: Date.now() + 5000 }, (err: any) => {
      resolve(err === null ? { code: 0, details: '' } : { code: err.code, details: err.details, metadata: err.metadata })
    })
  })
}

test('grpc - without the token every method answers UNAUTHENTICATED and nothing is written', async () => {
  const h = await createGrpcHarness({ token: 'secret' })
  const raw = await rawClient(h.grpcPort)
  const published: unknown[] = []
  await h.bus.subscribe('#', (m) => { published.push(m.topic) })
  try {
    const { grpc, dapr, methods } = raw
    const wrong = new grpc.Metadata()
    wrong.set('dapr-api-token', 'not-secret')
    const samples: Record<string, Buffer> = {}
    // Requests that would write if they got through.
    samples.SaveState = dapr.SaveState.requestSerialize({ store_name: 'statestore', states: [{ key: 'x', value: Buffer.from('1') }] })
    samples.PublishEvent = dapr.PublishEvent.requestSerialize({ pubsub_name: 'pubsub', topic: 't', data: Buffer.from('{}'), data_content_type: 'application/json' })
    samples.ExecuteStateTransaction = dapr.ExecuteStateTransaction.requestSerialize({ storeName: 'statestore', operations: [{ operationType: 'upsert', request: { key: 'y', value: Buffer.from('2') } }] })
    for (const [name, def] of methods) {
      for (const md of [new grpc.Metadata(), wrong]) {
        let got: { code: number; details: string }
        if (def.requestStream || def.responseStream) {
          got = await new Promise((resolve) => {
            const call = def.requestStream
              ? dapr.makeBidiStreamRequest(def.path, (b: Buffer) => b, (b: Buffer) => b, md, { deadline: Date.now() + 5000 })
              : dapr.makeServerStreamRequest(def.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, { deadline: Date.now() + 5000 })
            call.on('data', () => {})
            call.on('error', (e: any) => { resolve({ code: e.code, details: e.details }) })
            call.on('end', () => { resolve({ code: 0, details: 'ended' }) })
            if (def.requestStream) call.end()
          })
        } else {
          got = await rawCall(dapr, grpc, def.path, samples[name] ?? Buffer.alloc(0), md)
        }
        assert.is(got.code, grpc.status.UNAUTHENTICATED, `${name}: ${got.code} ${got.details}`)
        assert.match(got.details, /ERR_API_UNAUTHORIZED/, name)
      }
    }
    await new Promise((r) => setTimeout(r, 100))
    assert.is(await h.stores.get('statestore')!.get('test-gw||x'), undefined)
    assert.is(await h.stores.get('statestore')!.get('test-gw||y'), undefined)
    assert.equal(published, [])
    // The SDK with the token: served.
    const good = client(h.grpcPort, 'secret')
    try {
      await within(good.state.save('statestore', [{ key: 'x', value: 1 }]))
      assert.is(await within(good.state.get('statestore', 'x')), 1)
    } finally { await good.stop() }
  } finally { raw.close(); await h.close() }
})

test('grpc - malformed protobuf and oversized messages: a status with Dapr\'s code, nothing written, the server serves on', async () => {
  const max = 64 * 1024
  const h = await createGrpcHarness({ maxMessageBytes: max })
  const raw = await rawClient(h.grpcPort)
  const c = client(h.grpcPort)
  try {
    const { grpc, dapr } = raw
    const path = dapr.SaveState.path as string
    // A varint that never ends; field 2 (states) announcing 5 bytes of a StateItem and carrying 2. (protobufjs
    // decoders switch on the field number alone, so bytes with a wrong wire type may still decode.)
    for (const bytes of [Buffer.from([0xff, 0xff, 0xff]), Buffer.from([0x12, 0x05, 0x0a, 0x64])]) {
      const got = await rawCall(dapr, grpc, path, bytes)
      assert.is(got.code, grpc.status.INVALID_ARGUMENT, `${got.code} ${got.details}`)
      assert.match(got.details, /^ERR_MALFORMED_REQUEST: /, got.details)
    }
    // Just over the limit, and far over it (grpc-js refuses those from the length prefix, before buffering).
    for (const size of [max + 1024, max * 20]) {
      const bytes = dapr.SaveState.requestSerialize({ store_name: 'statestore', states: [{ key: 'big', value: Buffer.alloc(size, 0x31) }] })
      const got = await rawCall(dapr, grpc, path, bytes)
      assert.is(got.code, grpc.status.RESOURCE_EXHAUSTED, `${size}: ${got.code} ${got.details}`)
      assert.match(got.details, /^ERR_BODY_TOO_LARGE: /, String(size))
      const detail = got.metadata?.get('grpc-status-details-bin')?.[0]
      assert.ok(Buffer.isBuffer(detail) && detail.includes('ERR_BODY_TOO_LARGE'), 'ErrorInfo with the code')
    }
    assert.is(await h.stores.get('statestore')!.get('test-gw||big'), undefined)
    // Serving on, on the same connection and on a new one.
    const ok = await rawCall(dapr, grpc, path, dapr.SaveState.requestSerialize({ store_name: 'statestore', states: [{ key: 'small', value: Buffer.from('"s"') }] }))
    assert.is(ok.code, 0, ok.details)
    assert.is(await within(c.state.get('statestore', 'small')), 's')
  } finally { raw.close(); await c.stop(); await h.close() }
})

test.run()
