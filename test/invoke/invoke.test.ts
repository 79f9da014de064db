import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { HttpMethod } from '@dapr/dapr'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { TestApp, freePort } from '../pubsub/test-app.ts'
import { daprClient } from '../pubsub/dapr-app.ts'

const TOKEN = 'invoke-token'
const test = suite<{ rt: Runtime; app: TestApp; base: string; latePort: number; downPort: number }>('invoke')

test.before(async (ctx) => {
  ctx.app = await TestApp.start()
  ctx.latePort = await freePort()
  ctx.downPort = await freePort()
  ctx.rt = await startRuntime({
    id: 'gw-inv',
    api: { token: TOKEN },
    apps: [
      { id: 'echo', appPort: ctx.app.port, invoke: { timeoutMs: 500 } },
      { id: 'late', appPort: ctx.latePort, invoke: { maxRetries: 10, retryIntervalMs: 100 } },
      { id: 'down', appPort: ctx.downPort, invoke: { maxRetries: 2, retryIntervalMs: 50 } },
    ],
  })
  ctx.base = `http://127.0.0.1:${ctx.rt.addresses.api!.port}`
  // Echo: what the app saw, as JSON; status and a header chosen by the caller.
  ctx.app.on('*', (r) => ({
    status: Number(r.headers['x-want-status'] ?? 200),
    headers: { 'x-reply': 'yes', 'content-type': 'application/json' },
    body: { method: r.method, url: r.url, headers: r.headers, body: r.body.toString('base64') },
  }))
})
test.after(async (ctx) => { await ctx.rt.stop(); await ctx.app.close(); await cleanupTmp() })

const auth = { 'dapr-api-token': TOKEN }

test('invoke - every verb, the method path, query string, headers and body pass through; the app\'s status and headers come back', async ({ base }) => {
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const body = ['GET', 'OPTIONS'].includes(method) ? undefined : Buffer.from([0x00, 0x7b, 0xff, 0x0a])
    const res = await fetch(`${base}/v1.0/invoke/echo/method/orders/42?x=1&y=a%20b`, {
      method,
      headers: { ...auth, 'x-custom': 'v1', 'x-want-status': '201', 'dapr-app-id': 'caller-app', ...(body === undefined ? {} : { 'content-type': 'application/octet-stream' }) },
      ...(body === undefined ? {} : { body }),
    })
    assert.is(res.status, 201, method)
    assert.is(res.headers.get('x-reply'), 'yes')
    const seen = await res.json() as any
    assert.is(seen.method, method)
    assert.is(seen.url, '/orders/42?x=1&y=a%20b')
    assert.is(seen.headers['x-custom'], 'v1')
    assert.is(seen.headers['dapr-api-token'], undefined, 'the runtime token is not leaked to the app')
    assert.is(seen.headers['dapr-caller-app-id'], 'caller-app')
    assert.is(seen.headers['dapr-callee-app-id'], 'echo')
    assert.is(seen.body, body === undefined ? '' : body.toString('base64'), method)
  }
  const head = await fetch(`${base}/v1.0/invoke/echo/method/h`, { method: 'HEAD', headers: auth })
  assert.is(head.status, 200)
  assert.is(head.headers.get('x-reply'), 'yes')
})

test('invoke - a JSON body is forwarded byte for byte (not re-serialised); an app error status is passed back', async ({ base }) => {
  const text = '{ "a" :1,\n  "b": [ 1, 2 ] }'
  const res = await fetch(`${base}/v1.0/invoke/echo/method/json`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'x-want-status': '503' }, body: text })
  assert.is(res.status, 503)
  const seen = await res.json() as any
  assert.is(Buffer.from(seen.body, 'base64').toString(), text)
  assert.match(seen.headers['content-type'], 'application/json')
})

test('invoke - the dapr-app-id header form', async ({ base }) => {
  const res = await fetch(`${base}/orders/7?full=true`, { method: 'PUT', headers: { ...auth, 'dapr-app-id': 'echo', 'content-type': 'text/plain' }, body: 'hi' })
  assert.is(res.status, 200)
  const seen = await res.json() as any
  assert.is(seen.method, 'PUT'); assert.is(seen.url, '/orders/7?full=true'); assert.is(Buffer.from(seen.body, 'base64').toString(), 'hi')
  assert.is(seen.headers['dapr-app-id'], undefined)
  // Without the header, an unknown path is still the API's 404.
  const nf = await fetch(`${base}/orders/7`, { headers: auth })
  assert.is(nf.status, 404)
  assert.is((await nf.json() as any).errorCode, 'ERR_NOT_FOUND')
})

test('invoke - unknown app id: 404 ERR_APP_NOT_FOUND (both forms); the token is still required', async ({ base }) => {
  for (const [url, headers] of [[`${base}/v1.0/invoke/nobody/method/x`, auth], [`${base}/x`, { ...auth, 'dapr-app-id': 'nobody' }]] as const) {
    const res = await fetch(url, { headers })
    assert.is(res.status, 404)
    assert.is((await res.json() as any).errorCode, 'ERR_APP_NOT_FOUND')
  }
  assert.is((await fetch(`${base}/v1.0/invoke/echo/method/x`)).status, 401)
})

test('invoke - a call past the app\'s invoke.timeoutMs fails with ERR_DIRECT_INVOKE, not retried', async ({ base, app }) => {
  app.on('/slow', () => ({ delayMs: 3000 }))
  const before = app.at('/slow').length
  const t0 = Date.now()
  const res = await fetch(`${base}/v1.0/invoke/echo/method/slow`, { method: 'POST', headers: auth, body: 'x' })
  assert.is(res.status, 500)
  assert.is((await res.json() as any).errorCode, 'ERR_DIRECT_INVOKE')
  assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`)
  assert.is(app.at('/slow').length - before, 1)
})

test('invoke - an app that is not up yet: retried until it answers; one that stays down: ERR_DIRECT_INVOKE', async ({ base, latePort }) => {
  let late: TestApp | undefined
  const starter = setTimeout(() => { void TestApp.start(latePort).then((a) => { late = a; a.on('*', () => ({ body: { ok: true } })) }) }, 300)
  try {
    const res = await fetch(`${base}/v1.0/invoke/late/method/ping`, { headers: auth })
    assert.is(res.status, 200)
    assert.equal(await res.json(), { ok: true })
  } finally { clearTimeout(starter); await late?.close() }
  const down = await fetch(`${base}/v1.0/invoke/down/method/ping`, { headers: auth })
  assert.is(down.status, 500)
  const body = await down.json() as any
  assert.is(body.errorCode, 'ERR_DIRECT_INVOKE')
  assert.match(body.message, 'ECONNREFUSED')
})

test('invoke - the Dapr SDK invoker reaches the app', async ({ rt }) => {
  process.env.DAPR_API_TOKEN = TOKEN
  const client = daprClient(rt.addresses.api!.port)
  try {
    const out = await client.invoker.invoke('echo', 'orders/1?q=2', HttpMethod.POST, { a: 1 }) as any
    assert.is(out.method, 'POST')
    assert.is(out.url, '/orders/1?q=2')
    assert.equal(JSON.parse(Buffer.from(out.body, 'base64').toString()), { a: 1 })
  } finally { delete process.env.DAPR_API_TOKEN; await client.stop().catch(() => {}) }
})

test.run()
