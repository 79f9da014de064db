import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { connect, closeAll } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

const TOKEN = 'api-token-for-tests'
const test = suite<{ rt: Runtime; base: string }>('api')

test.before(async (ctx) => {
  ctx.rt = await startRuntime({ id: 'gw-api', api: { token: TOKEN } })
  ctx.base = `http://127.0.0.1:${ctx.rt.addresses.api!.port}`
})
test.after(async (ctx) => { await ctx.rt.stop(); await cleanupTmp() })

const auth = { 'dapr-api-token': TOKEN }

test('api - healthz and healthz/outbound answer 204 without the token', async ({ base }) => {
  assert.is((await fetch(`${base}/v1.0/healthz`)).status, 204)
  assert.is((await fetch(`${base}/v1.0/healthz/outbound`)).status, 204)
})

test('api - every other route needs dapr-api-token: 401 with a Dapr error body', async ({ base }) => {
  for (const [method, path] of [['GET', '/v1.0/metadata'], ['GET', '/v1.0/state/statestore/k'], ['POST', '/v1.0/shutdown']]) {
    const res = await fetch(`${base}${path}`, { method, headers: { 'dapr-api-token': 'wrong' } })
    assert.is(res.status, 401, `${method} ${path}`)
    const body = await res.json() as { errorCode: string; message: string }
    assert.is(body.errorCode, 'ERR_API_UNAUTHORIZED')
    assert.type(body.message, 'string')
  }
})

test('api - metadata: id, version, built-in components and broker figures in extended', async ({ rt, base }) => {
  const client = await connect(`mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`, { clientId: 'meta-probe' })
  await client.publishAsync('x/y', 'z', { qos: 1 })
  const res = await fetch(`${base}/v1.0/metadata`, { headers: auth })
  assert.is(res.status, 200)
  const m = await res.json() as any
  assert.is(m.id, 'gw-api')
  assert.type(m.runtimeVersion, 'string')
  assert.equal(m.components.map((c: any) => `${c.name}:${c.type}`).sort(), ['pubsub:pubsub.mqtt', 'statestore:state.level'])
  assert.is(m.extended['mqtt.clients'], '1')
  assert.ok(Number(m.extended['mqtt.messagesIn']) >= 1)
  assert.is(m.extended['cloud.status'], 'not-configured')
  await closeAll(client)
})

test('api - unknown routes and malformed JSON get Dapr error bodies', async ({ base }) => {
  const nf = await fetch(`${base}/v1.0/nope`, { headers: auth })
  assert.is(nf.status, 404)
  assert.is((await nf.json() as any).errorCode, 'ERR_NOT_FOUND')
  const bad = await fetch(`${base}/v1.0/state/statestore`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '[{"key": "a", "value": ' })
  assert.is(bad.status, 400)
  assert.is((await bad.json() as any).errorCode, 'ERR_MALFORMED_REQUEST')
})

test('api - state round-trip through the runtime (statestore, app-scoped keys)', async ({ base }) => {
  const save = await fetch(`${base}/v1.0/state/statestore`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'dapr-app-id': 'thermo' }, body: JSON.stringify([{ key: 'setpoint', value: { c: 21.5 } }]) })
  assert.is(save.status, 204)
  const get = await fetch(`${base}/v1.0/state/statestore/setpoint`, { headers: { ...auth, 'dapr-app-id': 'thermo' } })
  assert.is(get.status, 200)
  assert.equal(await get.json(), { c: 21.5 })
  assert.ok(get.headers.get('etag'))
  const other = await fetch(`${base}/v1.0/state/statestore/setpoint`, { headers: { ...auth, 'dapr-app-id': 'other-app' } })
  assert.is(other.status, 204, 'another app does not see thermo\'s key')
})

test('api - PUT metadata attributes show up in extended', async ({ base }) => {
  const put = await fetch(`${base}/v1.0/metadata/site`, { method: 'PUT', headers: { ...auth, 'content-type': 'text/plain' }, body: 'plant-7' })
  assert.is(put.status, 204)
  const m = await (await fetch(`${base}/v1.0/metadata`, { headers: auth })).json() as any
  assert.is(m.extended.site, 'plant-7')
})

test('api - POST /v1.0/shutdown answers 204, then healthz stops answering 204', async ({ rt, base }) => {
  const res = await fetch(`${base}/v1.0/shutdown`, { method: 'POST', headers: auth })
  assert.is(res.status, 204)
  for (let i = 0; i < 50 && rt.phase !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 50))
  assert.is(rt.phase, 'stopped')
  const after = await fetch(`${base}/v1.0/healthz`).then((r) => r.status, () => 'refused')
  assert.is.not(after, 204)
})

test.run()
