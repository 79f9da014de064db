import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { cleanupTmp } from '../helpers/tmp.ts'
import { authed, call, firstLogin, rig, type Login, type Rig } from './harness.ts'

const test = suite<{ r: Rig; l: Login }>('admin routes')
test.before(async (ctx) => { ctx.r = await rig(); ctx.l = await firstLogin(ctx.r) })
test.after(async (ctx) => { await ctx.r.ui.close(); await cleanupTmp() })

/** The events of an SSE body: comment lines skipped, each message's fields. */
function frames (text: string): Array<{ id?: string; event?: string; data?: unknown }> {
  const out: Array<{ id?: string; event?: string; data?: unknown }> = []
  for (const block of text.split('\n\n')) {
    const f: { id?: string; event?: string; data?: unknown } = {}
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const [k, ...v] = line.split(': ')
      if (k === 'data') f.data = JSON.parse(v.join(': '))
      else if (k === 'id' || k === 'event') f[k] = v.join(': ')
      else throw new Error(`unexpected SSE line ${line}`)
    }
    if (Object.keys(f).length > 0) out.push(f)
  }
  return out
}

test('admin routes - status snapshot and the status stream as SSE', async ({ r, l }) => {
  const snap = await call(r, { url: '/admin/api/status', headers: { cookie: l.cookie } })
  assert.is(snap.status, 200)
  assert.is(snap.body.parts.broker.type, 'listening')
  const res = await r.ui.app.inject({ url: '/admin/api/status/stream', headers: { host: 'gw.local:8080', cookie: l.cookie } })
  assert.is(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^text\/event-stream/)
  assert.is(res.headers['cache-control'], 'no-store')
  assert.is(res.headers['x-content-type-options'], 'nosniff')
  const got = frames(res.body)
  assert.equal(got.map((f) => [f.id, f.event]), [['1', 'status'], ['2', 'status'], ['3', 'status']])
  assert.equal(got[1].data, { part: 'cloud', status: { type: 'disconnected', reason: 'line\nbreak' }, at: '2024-01-01T00:00:02.000Z' })
  assert.is(r.backend.statusEventsOpen, 0, 'the iterator was closed')
})

test('admin routes - apps: list, start/stop/restart, logs with lines, follow as SSE, unknown app 404', async ({ r, l }) => {
  assert.equal((await call(r, { url: '/admin/api/apps', headers: { cookie: l.cookie } })).body.apps[0].id, 'thermo')
  for (const action of ['start', 'stop', 'restart']) {
    assert.is((await call(r, { method: 'POST', url: `/admin/api/apps/thermo/${action}`, headers: authed(l) })).status, 204)
    assert.ok(r.backend.calls.includes(`apps.${action} thermo`))
  }
  let res = await call(r, { url: '/admin/api/apps/thermo/logs?lines=2', headers: { cookie: l.cookie } })
  assert.is(res.status, 200)
  assert.equal(res.body.lines.map((x: { line: string }) => x.line), ['line 0', 'line 1'])
  assert.ok(r.backend.calls.includes('apps.logs thermo 2'))
  res = await call(r, { url: '/admin/api/apps/thermo/logs', headers: { cookie: l.cookie } })
  assert.ok(r.backend.calls.includes('apps.logs thermo 200'), 'default 200 lines')
  for (const bad of ['0', '-1', '1.5', 'x', '10001']) {
    res = await call(r, { url: `/admin/api/apps/thermo/logs?lines=${bad}`, headers: { cookie: l.cookie } })
    assert.is(res.status, 400, bad)
    assert.is(res.body.errorCode, 'ERR_MALFORMED_REQUEST')
  }
  const sse = await r.ui.app.inject({ url: '/admin/api/apps/thermo/logs?follow=1&lines=2', headers: { host: 'gw.local:8080', cookie: l.cookie } })
  assert.match(String(sse.headers['content-type']), /^text\/event-stream/)
  assert.equal(frames(sse.body).map((f) => [f.event, (f.data as { line: string }).line]), [['log', 'line 0'], ['log', 'line 1'], ['log', 'new']])
  for (const [method, url] of [['POST', '/admin/api/apps/nope/start'], ['GET', '/admin/api/apps/nope/logs'], ['GET', '/admin/api/apps/nope/logs?follow=1']]) {
    res = await call(r, { method, url, headers: authed(l) })
    assert.is(res.status, 404, url)
    assert.equal(res.body, { errorCode: 'ERR_APP_NOT_FOUND', message: 'no app nope' })
  }
})

test('admin routes - components: list, validate answers problems, apply refused with every problem', async ({ r, l }) => {
  assert.is((await call(r, { url: '/admin/api/components', headers: { cookie: l.cookie } })).body.components[0].name, 'statestore')
  let res = await call(r, { method: 'POST', url: '/admin/api/components/validate', headers: authed(l), body: { components: [] } })
  assert.equal(res.body, { valid: false, problems: [{ path: 'components', message: 'must be a non-empty array' }] })
  res = await call(r, { method: 'POST', url: '/admin/api/components/validate', headers: authed(l), body: [{ kind: 'Component' }] })
  assert.equal(res.body, { valid: true, problems: [] })
  res = await call(r, { method: 'POST', url: '/admin/api/components/apply', headers: authed(l), body: { components: 'nope' } })
  assert.is(res.status, 400)
  assert.equal(res.body, { errorCode: 'MECHA_ERR_CONFIG_INVALID', message: 'the components have problems', problems: [{ path: 'components', message: 'must be an array' }] })
  res = await call(r, { method: 'POST', url: '/admin/api/components/apply', headers: authed(l), body: { components: [] } })
  assert.equal(res.body, { reloaded: ['components'] })
})

test('admin routes - config: get, validate, apply refused 400 with paths, rollback without a previous version', async ({ r, l }) => {
  let res = await call(r, { url: '/admin/api/config', headers: { cookie: l.cookie } })
  assert.equal(res.body, { config: { id: 'gw-test' }, file: '/tmp/mecha.yaml', canRollback: false })
  assert.is(res.headers['cache-control'], 'no-store')
  res = await call(r, { method: 'POST', url: '/admin/api/config/validate', headers: authed(l), body: { id: 'bad id' } })
  assert.equal(res.body, { valid: false, problems: [{ path: 'id', message: 'must be 1-63 letters' }] })
  res = await call(r, { method: 'POST', url: '/admin/api/config/apply', headers: authed(l), body: { id: 'bad id' } })
  assert.is(res.status, 400)
  assert.is(res.body.errorCode, 'MECHA_ERR_CONFIG_INVALID')
  assert.equal(res.body.problems.map((p: { path: string }) => p.path), ['id', 'mqtt.port'])
  res = await call(r, { method: 'POST', url: '/admin/api/config/apply', headers: authed(l), body: { id: 'gw-2' } })
  assert.equal([res.status, res.body], [200, { reloaded: ['broker'] }])
  res = await call(r, { method: 'POST', url: '/admin/api/config/rollback', headers: authed(l) })
  assert.is(res.status, 400)
  assert.is(res.body.errorCode, 'MECHA_ERR_CONFIG_INVALID')
  const broken = await r.ui.app.inject({ method: 'POST', url: '/admin/api/config/apply', headers: { host: 'gw.local:8080', ...authed(l), 'content-type': 'application/json' }, payload: '{"id":' })
  assert.is(broken.statusCode, 400)
  assert.is(JSON.parse(broken.body).errorCode, 'ERR_MALFORMED_REQUEST')
})

test('admin routes - cloud and MQTT clients; a client id with a slash, an unknown one 404', async ({ r, l }) => {
  assert.is((await call(r, { url: '/admin/api/cloud', headers: { cookie: l.cookie } })).body.outbox.queued, 2)
  assert.equal((await call(r, { url: '/admin/api/mqtt/clients', headers: { cookie: l.cookie } })).body.clients.map((c: { id: string }) => c.id), ['sensor/1', 'ws-1'])
  let res = await call(r, { method: 'POST', url: `/admin/api/mqtt/clients/${encodeURIComponent('sensor/1')}/disconnect`, headers: authed(l) })
  assert.is(res.status, 204)
  assert.ok(r.backend.calls.includes('mqtt.disconnect sensor/1'))
  res = await call(r, { method: 'POST', url: '/admin/api/mqtt/clients/ghost/disconnect', headers: authed(l) })
  assert.equal([res.status, res.body.errorCode], [404, 'MECHA_ERR_MQTT_CLIENT_NOT_FOUND'])
  res = await call(r, { url: '/admin/api/no-such', headers: { cookie: l.cookie } })
  assert.equal([res.status, res.body.errorCode], [404, 'ERR_NOT_FOUND'])
})

test('admin routes - SSE ends at the next heartbeat once the session is logged out', async () => {
  const r = await rig({ heartbeatMs: 1000 })
  const l = await firstLogin(r)
  let release!: () => void
  const parked = new Promise<void>((resolve) => { release = resolve })
  let returned = false
  r.backend.statusEvents = () => ({
    [Symbol.asyncIterator]: () => ({
      next: async () => { await parked; return { done: true, value: undefined } },
      return: async () => { returned = true; release(); return { done: true, value: undefined } },
    }),
  })
  const pending = r.ui.app.inject({ url: '/admin/api/status/stream', headers: { host: 'gw.local:8080', cookie: l.cookie } })
  await new Promise((resolve) => setImmediate(resolve))
  await call(r, { method: 'POST', url: '/admin/api/logout', headers: authed(l) })
  r.clock.advance(1000)
  const res = await pending
  assert.is(res.statusCode, 200)
  assert.ok(returned, 'the iterator was returned')
  await r.ui.close()
})

test('admin routes - the UI files: index.html with CSP, client routes fall back to it, no escapes', async ({ r }) => {
  let res = await r.ui.app.inject({ url: '/' })
  assert.is(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^text\/html/)
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/)
  assert.is(res.headers['x-frame-options'], 'DENY')
  assert.match(res.body, /<title>Mecha<\/title>/)
  res = await r.ui.app.inject({ url: '/apps/thermo' })
  assert.is(res.statusCode, 200)
  assert.match(res.body, /<title>Mecha<\/title>/)
  for (const url of ['/nope.js', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/admin', '/mqtt']) {
    res = await r.ui.app.inject({ url })
    assert.ok(res.statusCode === 404 || res.statusCode === 401, `${url}: ${res.statusCode}`)
    assert.not.match(res.body, /"name": "mecha"/)
  }
})

test.run()
