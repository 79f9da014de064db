/** The admin routes the web UI added (edge/admin/routes/state.ts, bindings.ts), in-process with the fake backend. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { authed, call, firstLogin, rig, type Login, type Rig } from '../admin/harness.ts'
import { fakeBackend } from '../admin/fake-backend.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

const ROUTES: Array<[string, string]> = [
  ['GET', '/admin/api/state'], ['GET', '/admin/api/state/statestore'], ['GET', '/admin/api/state/statestore/greeting'],
  ['PUT', '/admin/api/state/statestore/greeting'], ['DELETE', '/admin/api/state/statestore/greeting'],
  ['GET', '/admin/api/bindings'], ['POST', '/admin/api/bindings/probe/invoke'],
]

async function signedIn (): Promise<{ r: Rig; l: Login }> {
  const r = await rig()
  return { r, l: await firstLogin(r) }
}

test.after(async () => { await cleanupTmp() })

test('ui admin routes - nothing answers without a session, and writes need the CSRF token', async () => {
  const { r, l } = await signedIn()
  try {
    for (const [method, url] of ROUTES) {
      const res = await call(r, { method, url, ...(method === 'PUT' || method === 'POST' ? { body: { value: 1, operation: 'read' } } : {}) })
      assert.is(res.status, 401, `${method} ${url}`)
    }
    const res = await call(r, { method: 'PUT', url: '/admin/api/state/statestore/greeting', headers: { cookie: l.cookie }, body: { value: 1 } })
    assert.is(res.status, 403)
    assert.is(res.body.errorCode, 'MECHA_ERR_UI_CSRF')
  } finally { await r.ui.close() }
})

test('ui admin routes - state: keys by prefix and page, get with its ETag, checked put, delete', async () => {
  const { r, l } = await signedIn()
  const h = authed(l)
  try {
    assert.equal((await call(r, { url: '/admin/api/state', headers: h })).body, { stores: ['statestore'] })
    let res = await call(r, { url: '/admin/api/state/statestore?pageSize=1', headers: h })
    assert.equal(res.body, { store: 'statestore', prefix: '', page: 0, pageSize: 1, keys: ['greeting'], more: true })
    res = await call(r, { url: '/admin/api/state/statestore?prefix=sens&page=0', headers: h })
    assert.equal([res.body.keys, res.body.more], [['sensor/1'], false])
    assert.is((await call(r, { url: '/admin/api/state/statestore?pageSize=0', headers: h })).status, 400)
    // A key with a slash, URL-encoded.
    res = await call(r, { url: '/admin/api/state/statestore/sensor%2F1', headers: h })
    assert.equal(res.body, { key: 'sensor/1', value: { temp: 21.5 }, etag: '1' })
    assert.is(res.headers.etag, '"1"')
    assert.is((await call(r, { url: '/admin/api/state/statestore/nope', headers: h })).status, 404)
    assert.is((await call(r, { url: '/admin/api/state/other?prefix=', headers: h })).body.errorCode, 'ERR_STATE_STORE_NOT_FOUND')

    res = await call(r, { method: 'PUT', url: '/admin/api/state/statestore/greeting', headers: { ...h, 'if-match': '"1"' }, body: { value: 'hi' } })
    assert.equal([res.status, res.body], [200, { key: 'greeting', etag: '2' }])
    res = await call(r, { method: 'PUT', url: '/admin/api/state/statestore/greeting', headers: { ...h, 'if-match': '"1"' }, body: { value: 'stale' } })
    assert.equal([res.status, res.body.errorCode], [409, 'ERR_ETAG_MISMATCH'])
    assert.is((await r.backend.state!.get('statestore', 'greeting'))!.value, 'hi')
    res = await call(r, { method: 'PUT', url: '/admin/api/state/statestore/greeting', headers: h, body: { nothing: true } })
    assert.equal([res.status, res.body.errorCode], [400, 'ERR_MALFORMED_REQUEST'])

    assert.is((await call(r, { method: 'DELETE', url: '/admin/api/state/statestore/greeting', headers: { ...h, 'if-match': '"1"' } })).status, 409)
    assert.is((await call(r, { method: 'DELETE', url: '/admin/api/state/statestore/greeting', headers: { ...h, 'if-match': '"2"' } })).status, 204)
    assert.is(await r.backend.state!.get('statestore', 'greeting'), undefined)
  } finally { await r.ui.close() }
})

test('ui admin routes - bindings: list and invoke; a bad body is 400 and reaches nothing', async () => {
  const { r, l } = await signedIn()
  const h = authed(l)
  try {
    const list = await call(r, { url: '/admin/api/bindings', headers: h })
    assert.equal(list.body.bindings.map((b: { name: string }) => b.name), ['probe', 'relay'])
    let res = await call(r, { method: 'POST', url: '/admin/api/bindings/probe/invoke', headers: h, body: { operation: 'request', data: 'READ' } })
    assert.equal(res.body, { data: 'echo:READ' })
    res = await call(r, { method: 'POST', url: '/admin/api/bindings/relay/invoke', headers: h, body: { operation: 'toggle' } })
    assert.equal(res.body, { data: { level: 1 } })
    res = await call(r, { method: 'POST', url: '/admin/api/bindings/relay/invoke', headers: h, body: { operation: 'request' } })
    assert.equal([res.status, res.body.errorCode], [400, 'MECHA_ERR_BINDING_OPERATION'])
    res = await call(r, { method: 'POST', url: '/admin/api/bindings/nope/invoke', headers: h, body: { operation: 'read' } })
    assert.equal([res.status, res.body.errorCode], [404, 'ERR_BINDING_NOT_FOUND'])
    const before = r.backend.calls.length
    for (const body of [{}, { operation: '' }, { operation: 'write', metadata: { n: 1 } }, ['write']]) {
      res = await call(r, { method: 'POST', url: '/admin/api/bindings/probe/invoke', headers: h, body })
      assert.equal([res.status, res.body.errorCode], [400, 'ERR_MALFORMED_REQUEST'], JSON.stringify(body))
    }
    assert.is(r.backend.calls.length, before)
  } finally { await r.ui.close() }
})

test('ui admin routes - a backend without the optional groups answers 404 ERR_NOT_FOUND', async () => {
  const { state: _s, bindings: _b, ...bare } = fakeBackend()
  const r = await rig({ backend: bare as ReturnType<typeof fakeBackend> })
  const l = await firstLogin(r)
  try {
    for (const url of ['/admin/api/state', '/admin/api/state/statestore', '/admin/api/bindings']) {
      const res = await call(r, { url, headers: authed(l) })
      assert.equal([res.status, res.body.errorCode], [404, 'ERR_NOT_FOUND'], url)
    }
  } finally { await r.ui.close() }
})

test.run()
