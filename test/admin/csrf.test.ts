import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { cleanupTmp } from '../helpers/tmp.ts'
import { authed, call, firstLogin, rig, type Login, type Rig } from './harness.ts'

const test = suite<{ r: Rig; l: Login }>('admin csrf')
test.before(async (ctx) => { ctx.r = await rig(); ctx.l = await firstLogin(ctx.r) })
test.after(async (ctx) => { await ctx.r.ui.close(); await cleanupTmp() })

test('admin csrf - a POST with the session cookie but no x-csrf-token is refused 403', async ({ r, l }) => {
  const res = await call(r, { method: 'POST', url: '/admin/api/apps/thermo/restart', headers: { cookie: l.cookie } })
  assert.is(res.status, 403)
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_CSRF')
  assert.not.ok(r.backend.calls.includes('apps.restart thermo'))
})

test('admin csrf - a wrong token is refused; the right one from the same origin passes', async ({ r, l }) => {
  let res = await call(r, { method: 'POST', url: '/admin/api/apps/thermo/restart', headers: { ...authed(l), 'x-csrf-token': l.csrf.slice(0, -1) + (l.csrf.endsWith('A') ? 'B' : 'A') } })
  assert.is(res.status, 403)
  res = await call(r, { method: 'POST', url: '/admin/api/apps/thermo/restart', headers: authed(l) })
  assert.is(res.status, 204)
  assert.ok(r.backend.calls.includes('apps.restart thermo'))
  // A script (no Origin, no Sec-Fetch-Site) with cookie and token is fine too.
  res = await call(r, { method: 'POST', url: '/admin/api/apps/thermo/stop', headers: { cookie: l.cookie, 'x-csrf-token': l.csrf } })
  assert.is(res.status, 204)
})

test('admin csrf - a foreign Origin is refused even with the token', async ({ r, l }) => {
  for (const origin of ['http://evil.example', 'https://gw.local:8080', 'http://gw.local:8081', 'null']) {
    const res = await call(r, { method: 'POST', url: '/admin/api/config/rollback', headers: { ...authed(l), origin } })
    assert.is(res.status, 403, origin)
    assert.is(res.body.errorCode, 'MECHA_ERR_UI_CSRF')
  }
  assert.not.ok(r.backend.calls.includes('config.rollback'))
})

test('admin csrf - a cross-site form post is refused before its body is read', async ({ r, l }) => {
  const res = await r.ui.app.inject({
    method: 'POST',
    url: '/admin/api/config/apply',
    headers: { host: 'gw.local:8080', cookie: l.cookie, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'id=pwned',
  })
  assert.is(res.statusCode, 403)
  assert.is(JSON.parse(res.body).errorCode, 'MECHA_ERR_UI_CSRF')
  assert.not.ok(r.backend.calls.includes('config.apply'))
})

test('admin csrf - Sec-Fetch-Site same-site (a sibling host) is cross-origin: refused', async ({ r, l }) => {
  const res = await call(r, { method: 'POST', url: '/admin/api/logout', headers: { ...authed(l), 'sec-fetch-site': 'same-site' } })
  assert.is(res.status, 403)
})

test('admin csrf - login from a foreign origin is refused (login CSRF)', async ({ r }) => {
  const res = await call(r, { method: 'POST', url: '/admin/api/login', body: { password: 'whatever1' }, headers: { origin: 'http://evil.example' } })
  assert.is(res.status, 403)
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_CSRF')
})

test('admin csrf - a same-origin JSON POST with a non-JSON content type is refused', async ({ r, l }) => {
  const res = await r.ui.app.inject({ method: 'POST', url: '/admin/api/config/apply', headers: { host: 'gw.local:8080', ...authed(l), 'content-type': 'text/plain' }, payload: '{"id":"x"}' })
  assert.is(res.statusCode, 415)
  assert.is(JSON.parse(res.body).errorCode, 'ERR_MALFORMED_REQUEST')
})

test('admin csrf - GETs need the session but no token', async ({ r, l }) => {
  const res = await call(r, { url: '/admin/api/apps', headers: { cookie: l.cookie } })
  assert.is(res.status, 200)
})

test.run()
