import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ManualClock } from '../../core/clock.ts'
import { LoginLimiter } from '../../edge/admin/auth/login-limiter.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { PASSWORD, call, firstLogin, rig, type Rig } from './harness.ts'

const test = suite<{ rigs: Rig[] }>('admin rate limit')
test.before((ctx) => { ctx.rigs = [] })
test.after(async (ctx) => { for (const r of ctx.rigs) await r.ui.close(); await cleanupTmp() })

const attempt = (r: Rig, password: string, remoteAddress = '192.0.2.1'): ReturnType<typeof call> =>
  call(r, { method: 'POST', url: '/admin/api/login', body: { password }, remoteAddress })

test('admin rate limit - the 6th wrong password within a minute is refused 429 with Retry-After; lockouts double', async (ctx) => {
  const r = await rig(); ctx.rigs.push(r)
  await firstLogin(r)
  for (let i = 0; i < 5; i++) assert.is((await attempt(r, `wrong ${i}xxxx`)).status, 401, `attempt ${i + 1}`)
  let res = await attempt(r, PASSWORD)
  assert.is(res.status, 429, 'even the right password waits')
  assert.is(res.body.errorCode, 'MECHA_ERR_UI_RATE_LIMITED')
  assert.is(res.headers['retry-after'], '60')
  r.clock.advance(30_000)
  assert.is((await attempt(r, PASSWORD)).headers['retry-after'], '30')
  assert.is((await attempt(r, PASSWORD, '192.0.2.2')).status, 200, 'another address is not locked')
  r.clock.advance(30_000)
  for (let i = 0; i < 5; i++) assert.is((await attempt(r, `wrong ${i}xxxx`)).status, 401)
  res = await attempt(r, PASSWORD)
  assert.is(res.status, 429)
  assert.is(res.headers['retry-after'], '120', 'the second lockout doubles')
  r.clock.advance(120_000)
  assert.is((await attempt(r, PASSWORD)).status, 200, 'in again after the lockout')
})

test('admin rate limit - wrong setup codes count too', async (ctx) => {
  const r = await rig(); ctx.rigs.push(r)
  for (let i = 0; i < 5; i++) {
    const res = await call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: 'AAAA-AAAA-AAAA', newPassword: PASSWORD } })
    assert.is(res.status, 401)
  }
  const res = await call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: r.code, newPassword: PASSWORD } })
  assert.is(res.status, 429)
})

test('admin rate limit - globally: failures from many addresses lock everyone out', async (ctx) => {
  const r = await rig({ limiter: { maxGlobalFailures: 8 } }); ctx.rigs.push(r)
  await firstLogin(r)
  for (let i = 0; i < 8; i++) assert.is((await attempt(r, 'wrong-password', `198.51.100.${i}`)).status, 401)
  const res = await attempt(r, PASSWORD, '203.0.113.9')
  assert.is(res.status, 429)
  assert.is(res.headers['retry-after'], '60')
})

test('login limiter - failures older than the window do not add up; the lockout is capped', () => {
  const clock = new ManualClock(0)
  const l = new LoginLimiter({ clock, maxLockoutMs: 180_000 })
  for (let i = 0; i < 10; i++) { l.failure('a'); clock.advance(15_000) }
  assert.is(l.retryAfterMs('a'), 0, '4 failures a minute never lock')
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 5; i++) l.failure('a')
    assert.ok(l.retryAfterMs('a') <= 180_000)
    clock.advance(l.retryAfterMs('a'))
  }
  for (let i = 0; i < 5; i++) l.failure('a')
  assert.is(l.retryAfterMs('a'), 180_000, 'capped at maxLockoutMs')
  l.success('a')
  assert.is(l.retryAfterMs('a'), 0)
})

test.run()
