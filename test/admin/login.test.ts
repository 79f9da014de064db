import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stat } from 'node:fs/promises'
import { verifyPassword } from '../../core/passwords.ts'
import { readAdminHash, writeAdminHash } from '../../edge/admin/auth/password-file.ts'
import { hashPassword } from '../../core/passwords.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { ADMIN_ROUTES, PASSWORD, authed, call, firstLogin, login, rig, setupCodeFile, type Rig } from './harness.ts'

const test = suite<{ rigs: Rig[] }>('admin login')
test.before((ctx) => { ctx.rigs = [] })
test.after(async (ctx) => { for (const r of ctx.rigs) await r.ui.close(); await cleanupTmp() })
const make = async (ctx: { rigs: Rig[] }, opts: Parameters<typeof rig>[0] = {}): Promise<Rig> => { const r = await rig(opts); ctx.rigs.push(r); return r }

test('admin - every route answers 401 {errorCode, message} without a session, before and after setup', async (ctx) => {
  const r = await make(ctx)
  for (const [method, url] of ADMIN_ROUTES) {
    const res = await call(r, { method, url, headers: { origin: 'http://gw.local:8080' } })
    assert.is(res.status, 401, `${method} ${url}`)
    assert.is(res.body.errorCode, 'MECHA_ERR_UI_SETUP_REQUIRED', `${method} ${url}`)
    assert.type(res.body.message, 'string')
  }
  await firstLogin(r)
  for (const [method, url] of ADMIN_ROUTES) {
    const res = await call(r, { method, url, headers: { cookie: 'mecha_session=forged' } })
    assert.is(res.status, 401, `${method} ${url}`)
    assert.is(res.body.errorCode, 'MECHA_ERR_UI_AUTH', `${method} ${url}`)
  }
  assert.equal(r.backend.calls, [], 'the backend was never reached')
})

test('admin - first start: a setup code is logged and written 0600 to <dataDir>/admin-setup-code', async (ctx) => {
  const r = await make(ctx)
  assert.match(r.code ?? '', /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/)
  const warn = r.logs.find((l) => l.setupCode === r.code)!
  assert.is(warn.level, 'warn')
  assert.is(warn.file, `${r.dataDir}/admin-setup-code`)
  assert.is((await setupCodeFile(r.dataDir)).trim(), r.code)
  assert.is((await stat(`${r.dataDir}/admin-setup-code`)).mode & 0o777, 0o600)
})

test('admin - the first login must set a password of 8+ characters; {password} alone is refused', async (ctx) => {
  const r = await make(ctx)
  let res = await call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: r.code } })
  assert.is(res.status, 400)
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_PASSWORD_WEAK')
  res = await call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: r.code, newPassword: 'short' } })
  assert.is(res.status, 400)
  res = await call(r, { method: 'POST', url: '/admin/api/login', body: { password: 'anything-at-all' } })
  assert.is(res.status, 401)
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_SETUP_REQUIRED')
  assert.is(await readAdminHash(r.dataDir), undefined, 'nothing stored yet')
})

test('admin - the setup code works once (typed in lower case, without dashes); then only the password', async (ctx) => {
  const r = await make(ctx)
  const typed = r.code!.toLowerCase().replace(/-/g, '')
  let res = await call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: typed, newPassword: PASSWORD } })
  assert.is(res.status, 200, JSON.stringify(res.body))
  assert.type(res.body.csrfToken, 'string')
  const cookie = String(res.headers['set-cookie'])
  assert.match(cookie, /^mecha_session=[A-Za-z0-9_-]{43}; /)
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) assert.ok(cookie.includes(attr), `${attr} in ${cookie}`)
  assert.not.ok(cookie.includes('Secure'), 'not Secure over plain HTTP')
  assert.ok(await verifyPassword(PASSWORD, (await readAdminHash(r.dataDir))!), 'the hash file mecha passwd writes')
  assert.is(await setupCodeFile(r.dataDir).catch(() => 'gone'), 'gone', 'the code file is removed')
  res = await call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: r.code, newPassword: 'another password' } })
  assert.is(res.status, 401, 'second use refused')
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_AUTH')
  assert.ok(await verifyPassword(PASSWORD, (await readAdminHash(r.dataDir))!), 'the password is unchanged')
  await login(r)
  res = await call(r, { method: 'POST', url: '/admin/api/login', body: { password: 'wrong password' } })
  assert.is(res.status, 401)
})

test('admin - two concurrent first logins with the right code: exactly one wins', async (ctx) => {
  const r = await make(ctx)
  const [a, b] = await Promise.all(['first password', 'second password'].map((p) => call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: r.code, newPassword: p } })))
  assert.equal([a.status, b.status].sort(), [200, 401])
})

test('admin - with a password from `mecha passwd` there is no setup code', async (ctx) => {
  const dataDir = await tmpDir('mecha-admin')
  await writeAdminHash(dataDir, await hashPassword(PASSWORD))
  const r = await make(ctx, { dataDir })
  assert.is(r.code, undefined)
  assert.is(await setupCodeFile(dataDir).catch(() => 'none'), 'none')
  const res = await call(r, { method: 'GET', url: '/admin/api/status' })
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_AUTH')
  await login(r)
})

test('admin - session: GET returns the CSRF token; logout ends it', async (ctx) => {
  const r = await make(ctx)
  const l = await firstLogin(r)
  let res = await call(r, { url: '/admin/api/session', headers: { cookie: l.cookie } })
  assert.is(res.status, 200)
  assert.is(res.body.csrfToken, l.csrf)
  assert.is(res.body.expiresAt, '2024-01-01T12:00:00.000Z')
  res = await call(r, { method: 'POST', url: '/admin/api/logout', headers: authed(l) })
  assert.is(res.status, 204)
  assert.match(String(res.headers['set-cookie']), /^mecha_session=; .*Max-Age=0/)
  res = await call(r, { url: '/admin/api/status', headers: { cookie: l.cookie } })
  assert.is(res.status, 401)
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_AUTH')
})

test('admin - session expiry: idle timeout, and the absolute maximum however busy', async (ctx) => {
  const r = await make(ctx, { session: { idleTimeoutSeconds: 600, maxAgeSeconds: 3600 } })
  const l = await firstLogin(r)
  r.clock.advance(599_000)
  assert.is((await call(r, { url: '/admin/api/status', headers: { cookie: l.cookie } })).status, 200, 'activity within the idle timeout')
  r.clock.advance(599_000)
  assert.is((await call(r, { url: '/admin/api/status', headers: { cookie: l.cookie } })).status, 200, 'the idle clock restarted')
  r.clock.advance(600_000)
  assert.is((await call(r, { url: '/admin/api/status', headers: { cookie: l.cookie } })).status, 401, 'idle for 600 s')

  const busy = await login(r)
  for (let i = 0; i < 6; i++) {
    r.clock.advance(500_000)
    assert.is((await call(r, { url: '/admin/api/status', headers: { cookie: busy.cookie } })).status, 200, `busy at ${i}`)
  }
  r.clock.advance(600_000)
  assert.is((await call(r, { url: '/admin/api/status', headers: { cookie: busy.cookie } })).status, 401, 'past maxAgeSeconds')
})

test('admin - change password: the current one is checked, other sessions end, this one stays', async (ctx) => {
  const r = await make(ctx)
  const a = await firstLogin(r)
  const b = await login(r)
  let res = await call(r, { method: 'POST', url: '/admin/api/password', headers: authed(a), body: { currentPassword: 'not it at all', newPassword: 'brand new password' } })
  assert.is(res.status, 401)
  res = await call(r, { method: 'POST', url: '/admin/api/password', headers: authed(a), body: { currentPassword: PASSWORD, newPassword: 'short' } })
  assert.is(res.status, 400)
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_PASSWORD_WEAK')
  res = await call(r, { method: 'POST', url: '/admin/api/password', headers: authed(a), body: { currentPassword: PASSWORD, newPassword: 'brand new password' } })
  assert.is(res.status, 204)
  assert.is((await call(r, { url: '/admin/api/status', headers: { cookie: a.cookie } })).status, 200)
  assert.is((await call(r, { url: '/admin/api/status', headers: { cookie: b.cookie } })).status, 401)
  assert.is((await call(r, { method: 'POST', url: '/admin/api/login', body: { password: PASSWORD } })).status, 401)
  await login(r, 'brand new password')
})

test('admin - a restart logs everyone out (sessions live in memory)', async (ctx) => {
  const r = await make(ctx)
  const l = await firstLogin(r)
  await r.ui.close()
  const again = await make(ctx, { dataDir: r.dataDir })
  assert.is(again.code, undefined, 'no new setup code: the password is set')
  assert.is((await call(again, { url: '/admin/api/status', headers: { cookie: l.cookie } })).status, 401)
  await login(again)
})

test.run()
