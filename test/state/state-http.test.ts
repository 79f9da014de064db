import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ManualClock } from '../../core/clock.ts'
import { createHarness, type Harness } from '../helpers/api-harness.ts'

type Ctx = { h: Harness; clock: ManualClock }
const json = { 'content-type': 'application/json' }

async function rawKeys (h: Harness, store = 'statestore'): Promise<string[]> {
  const out: string[] = []
  for await (const k of h.store.namespace(`state-${store}`).keys()) out.push(k)
  return out
}

for (const kind of ['minimal', 'server'] as const) {
  const test = suite<Ctx>(`state http (${kind} server)`)
  test.before.each(async (ctx) => {
    ctx.clock = new ManualClock(1_700_000_000_000)
    ctx.h = await createHarness({ kind, clock: ctx.clock, maxValueBytes: 1000, maxBodyBytes: 64 * 1024, extraStores: { shared: 'name', bare: 'none' } })
  })
  test.after.each(async ({ h }) => { await h.close() })

  const save = (h: Harness, body: unknown, url = '/v1.0/state/statestore', headers: Record<string, string> = json) =>
    h.app.inject({ method: 'POST', url, headers, payload: typeof body === 'string' ? body : JSON.stringify(body) })
  const get = (h: Harness, key: string, headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url: `/v1.0/state/statestore/${key}`, headers })
  const expectError = (res: { statusCode: number; json(): any }, status: number, errorCode: string): void => {
    assert.is(res.statusCode, status, JSON.stringify(res.json()))
    assert.is(res.json().errorCode, errorCode)
    assert.type(res.json().message, 'string')
  }

  test('state http - save then get: 204, then 200 with the value in its JSON type and an ETag header', async ({ h }) => {
    const values = { s: 'hello', n: 42, f: 2.5, b: false, z: null, a: [1, 'x'], o: { deep: { v: 1 } } }
    const res = await save(h, Object.entries(values).map(([key, value]) => ({ key, value })))
    assert.is(res.statusCode, 204)
    for (const [key, value] of Object.entries(values)) {
      const g = await get(h, key)
      assert.is(g.statusCode, 200)
      assert.equal(JSON.parse(g.body), value, key)
      assert.match(g.headers['content-type'] as string, 'application/json')
      assert.match(g.headers.etag as string, /^[1-9][0-9]*$/)
    }
    assert.is((await get(h, 's')).body, '"hello"', 'a string stays a JSON string')
    const absent = await get(h, 'nope')
    assert.is(absent.statusCode, 204)
    assert.is(absent.body, '')
  })

  test('state http - raw bytes and text keep their content type', async ({ h }) => {
    const bytes = Buffer.from([0, 1, 2, 250, 255])
    assert.is((await save(h, [{ key: 'bin', value: bytes.toString('base64') }], '/v1.0/state/statestore?metadata.contentType=application/octet-stream')).statusCode, 204)
    assert.is((await save(h, [{ key: 'txt', value: 'plain words', metadata: { contentType: 'text/plain' } }])).statusCode, 204)
    const bin = await get(h, 'bin')
    assert.is(bin.headers['content-type'], 'application/octet-stream')
    assert.equal([...bin.rawPayload], [...bytes])
    const txt = await get(h, 'txt')
    assert.match(txt.headers['content-type'] as string, 'text/plain')
    assert.is(txt.body, 'plain words')
    const bulk = (await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: { keys: ['bin', 'txt'] } })).json()
    assert.equal(bulk.map((i: any) => i.data), [bytes.toString('base64'), 'plain words'])
    assert.is(bulk[0].metadata.contentType, 'application/octet-stream')
    expectError(await save(h, [{ key: 'bad', value: 'not base64!' }], '/v1.0/state/statestore?metadata.contentType=image/png'), 400, 'ERR_MALFORMED_REQUEST')
  })

  test('state http - the save body is read as JSON whatever its content type', async ({ h }) => {
    assert.is((await save(h, [{ key: 'a', value: 1 }], undefined, { 'content-type': 'text/plain' })).statusCode, 204)
    assert.is((await save(h, [{ key: 'b', value: 2 }], undefined, {})).statusCode, 204)
    assert.is((await save(h, [{ key: 'c', value: 3 }], undefined, { 'content-type': 'application/octet-stream' })).statusCode, 204)
    assert.equal((await rawKeys(h)).sort(), ['test-gw||a', 'test-gw||b', 'test-gw||c'])
  })

  test('state http - keys are stored as <appId>||<key>; the keyPrefix metadata is honoured', async ({ h }) => {
    await save(h, [{ key: 'k', value: 'runtime' }])
    await save(h, [{ key: 'k', value: 'app-a' }], undefined, { ...json, 'dapr-app-id': 'app-a' })
    assert.equal((await rawKeys(h)).sort(), ['app-a||k', 'test-gw||k'])
    assert.is((await get(h, 'k', { 'dapr-app-id': 'app-a' })).json(), 'app-a')
    assert.is((await get(h, 'k')).json(), 'runtime')
    await save(h, [{ key: 'k', value: 'shared' }], '/v1.0/state/shared', { ...json, 'dapr-app-id': 'app-a' })
    assert.is((await h.app.inject({ url: '/v1.0/state/shared/k', headers: { 'dapr-app-id': 'app-b' } })).json(), 'shared')
    assert.equal(await rawKeys(h, 'shared'), ['shared||k'])
    await save(h, [{ key: 'k', value: 'bare' }], '/v1.0/state/bare')
    assert.equal(await rawKeys(h, 'bare'), ['k'])
    const q = await h.app.inject({ method: 'POST', url: '/v1.0-alpha1/state/statestore/query', headers: { ...json, 'dapr-app-id': 'app-a' }, payload: {} })
    assert.equal(q.json().results.map((r: any) => [r.key, r.data]), [['k', 'app-a']], 'a query sees its own app only')
  })

  test('state http - ETags: mismatch is 409 and malformed is 400, both ERR_STATE_SAVE; first-write creates only', async ({ h }) => {
    await save(h, [{ key: 'k', value: 1 }])
    const etag = (await get(h, 'k')).headers.etag as string
    assert.is((await save(h, [{ key: 'k', value: 2, etag }])).statusCode, 204)
    expectError(await save(h, [{ key: 'k', value: 3, etag }]), 409, 'ERR_STATE_SAVE')
    expectError(await save(h, [{ key: 'k', value: 3, etag: 'xyz' }]), 400, 'ERR_STATE_SAVE')
    expectError(await save(h, [{ key: 'k', value: 3, options: { concurrency: 'first-write' } }]), 409, 'ERR_STATE_SAVE')
    assert.is((await save(h, [{ key: 'k', value: 4, etag: 'stale-ignored', options: { concurrency: 'last-write' } }])).statusCode, 204)
    expectError(await save(h, [{ key: 'k', value: 5, options: { concurrency: 'whenever' } }]), 400, 'ERR_MALFORMED_REQUEST')
    assert.is((await get(h, 'k')).json(), 4)
    // A save array is all or nothing: a conflict on the second item leaves the first unwritten.
    expectError(await save(h, [{ key: 'n1', value: 1 }, { key: 'k', value: 9, etag: '1' }]), 409, 'ERR_STATE_SAVE')
    assert.is((await get(h, 'n1')).statusCode, 204)
  })

  test('state http - delete with If-Match', async ({ h }) => {
    await save(h, [{ key: 'k', value: 1 }])
    const etag = (await get(h, 'k')).headers.etag as string
    expectError(await h.app.inject({ method: 'DELETE', url: '/v1.0/state/statestore/k', headers: { 'if-match': String(Number(etag) + 1) } }), 409, 'ERR_STATE_DELETE')
    expectError(await h.app.inject({ method: 'DELETE', url: '/v1.0/state/statestore/k', headers: { 'if-match': 'W/"x"' } }), 400, 'ERR_STATE_DELETE')
    assert.is((await get(h, 'k')).statusCode, 200)
    assert.is((await h.app.inject({ method: 'DELETE', url: '/v1.0/state/statestore/k', headers: { 'if-match': etag } })).statusCode, 204)
    assert.is((await get(h, 'k')).statusCode, 204)
    assert.is((await h.app.inject({ method: 'DELETE', url: '/v1.0/state/statestore/k' })).statusCode, 204, 'deleting an absent key is fine')
    expectError(await h.app.inject({ method: 'DELETE', url: '/v1.0/state/statestore/k?concurrency=maybe' }), 400, 'ERR_MALFORMED_REQUEST')
  })

  test('state http - TTL: metadata.ttlInSeconds, ttlExpireTime reported, expired keys vanish from get, bulk and query', async ({ h, clock }) => {
    await save(h, [{ key: 't', value: { v: 1 } }], '/v1.0/state/statestore?metadata.ttlInSeconds=60')
    await save(h, [{ key: 'u', value: { v: 2 }, metadata: { ttlInSeconds: '-1' } }])
    const g = await get(h, 't')
    assert.is(g.headers['metadata.ttlexpiretime'], new Date(clock.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'))
    assert.is(g.headers['metadata.ttlexpiretime'] !== undefined && (await get(h, 'u')).headers['metadata.ttlexpiretime'], undefined)
    const bulk = (await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: { keys: ['t'] } })).json()
    assert.type(bulk[0].metadata.ttlExpireTime, 'string')
    clock.advance(60_000)
    assert.is((await get(h, 't')).statusCode, 204)
    const after = (await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: { keys: ['t', 'u'] } })).json()
    assert.equal(after, [{ key: 't' }, { key: 'u', data: { v: 2 }, etag: after[1].etag }])
    const q = (await h.app.inject({ method: 'POST', url: '/v1.0-alpha1/state/statestore/query', headers: json, payload: { filter: { GTE: { v: 0 } } } })).json()
    assert.equal(q.results.map((r: any) => r.key), ['u'])
    for (const bad of ['abc', '1.5', '0', '-5']) {
      expectError(await save(h, [{ key: 'x', value: 1 }], `/v1.0/state/statestore?metadata.ttlInSeconds=${bad}`), 400, 'ERR_MALFORMED_REQUEST')
    }
  })

  test('state http - bulk get answers every key in order with data, etag, or nothing', async ({ h }) => {
    await save(h, [{ key: 'a', value: 'A' }, { key: 'b', value: { b: true } }])
    const res = await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: { keys: ['b', 'missing', 'a'], parallelism: 10 } })
    assert.is(res.statusCode, 200)
    const items = res.json()
    assert.equal(items.map((i: any) => i.key), ['b', 'missing', 'a'])
    assert.equal(items[0].data, { b: true }); assert.is(items[2].data, 'A')
    assert.equal(items[1], { key: 'missing' })
    assert.match(items[0].etag, /^\d+$/)
    assert.equal((await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: { keys: [] } })).json(), [])
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: { keys: 'a' } }), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: { keys: ['a||b'] } }), 400, 'ERR_MALFORMED_REQUEST')
  })

  test('state http - transactions are all or nothing', async ({ h }) => {
    await save(h, [{ key: 'gone', value: 1 }, { key: 'guarded', value: 1 }])
    const etag = (await get(h, 'guarded')).headers.etag as string
    const tx = (operations: unknown[], metadata?: unknown) => h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/transaction', headers: json, payload: { operations, ...(metadata ? { metadata } : {}) } })
    const ok = await tx([
      { operation: 'upsert', request: { key: 'new', value: { n: 1 } } },
      { operation: 'delete', request: { key: 'gone' } },
      { operation: 'upsert', request: { key: 'guarded', value: 2, etag } },
      { operation: 'upsert', request: { key: 'ttl', value: 1, metadata: { ttlInSeconds: '5' } } },
    ])
    assert.is(ok.statusCode, 204)
    assert.equal((await get(h, 'new')).json(), { n: 1 })
    assert.is((await get(h, 'gone')).statusCode, 204)
    assert.ok((await get(h, 'ttl')).headers['metadata.ttlexpiretime'])
    const before = await rawKeys(h)
    expectError(await tx([{ operation: 'upsert', request: { key: 'x1', value: 1 } }, { operation: 'upsert', request: { key: 'guarded', value: 3, etag } }]), 409, 'ERR_STATE_TRANSACTION')
    expectError(await tx([{ operation: 'upsert', request: { key: 'x1', value: 1 } }, { operation: 'delete', request: { key: 'new', etag: 'bad' } }]), 400, 'ERR_STATE_TRANSACTION')
    expectError(await tx([{ operation: 'upsert', request: { key: 'x1', value: 1 } }, { operation: 'merge', request: { key: 'new' } }]), 400, 'ERR_NOT_SUPPORTED_STATE_OPERATION')
    expectError(await tx([{ operation: 'upsert', request: { key: 'x1', value: 1 } }, { operation: 'upsert', request: { key: '', value: 1 } }]), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await tx([{ operation: 'upsert', request: { key: 'x1', value: 1 } }, { operation: 'upsert', request: { key: 'a||b', value: 1 } }]), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await tx([{ operation: 'upsert', request: { key: 'x1', value: 'x'.repeat(2000) } }]), 413, 'ERR_BODY_TOO_LARGE')
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/transaction', headers: json, payload: { operations: {} } }), 400, 'ERR_MALFORMED_REQUEST')
    assert.equal(await rawKeys(h), before, 'no failed transaction wrote anything')
    assert.is((await tx([])).statusCode, 204)
  })

  test('state http - query: filter, sort and paging with a token', async ({ h }) => {
    await save(h, Array.from({ length: 12 }, (_, i) => ({ key: `p${String(i).padStart(2, '0')}`, value: { i, team: i % 3 === 0 ? 'red' : 'blue' } })))
    const query = (q: unknown) => h.app.inject({ method: 'POST', url: '/v1.0-alpha1/state/statestore/query', headers: json, payload: q as object })
    const red = (await query({ filter: { EQ: { team: 'red' } }, sort: [{ key: 'i', order: 'DESC' }] })).json()
    assert.equal(red.results.map((r: any) => r.key), ['p09', 'p06', 'p03', 'p00'])
    assert.match(red.results[0].etag, /^\d+$/)
    const seen: string[] = []
    let token: string | undefined
    for (let n = 0; n < 10; n++) {
      const page = (await query({ filter: { OR: [{ EQ: { team: 'blue' } }, { IN: { i: [0, 3] } }] }, page: { limit: 3, ...(token ? { token } : {}) } })).json()
      seen.push(...page.results.map((r: any) => r.key))
      token = page.token
      if (token === undefined) break
    }
    assert.is(seen.length, 10)
    assert.is(new Set(seen).size, 10)
    assert.equal((await query({ filter: { EQ: { team: 'green' } } })).json(), { results: [] })
    expectError(await query({ filter: { LIKE: { team: 'r%' } } }), 400, 'ERR_STATE_QUERY')
    expectError(await query({ page: { token: 'forged' } }), 400, 'ERR_STATE_QUERY')
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0-alpha1/state/statestore/query', headers: json, payload: '{"filter":' }), 400, 'ERR_MALFORMED_REQUEST')
  })

  test('state http - bad input gets a clear 4xx with Dapr\'s code and writes nothing', async ({ h }) => {
    await save(h, [{ key: 'keep', value: 1 }])
    const before = await rawKeys(h)
    expectError(await save(h, '[{"key": "a", "value": '), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, '{"key": "a", "value": 1}'), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, ''), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { value: 1 }]), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { key: '', value: 1 }]), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { key: 'a||b', value: 1 }]), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { key: 'k' }]), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { key: 'big', value: 'x'.repeat(1001) }]), 413, 'ERR_BODY_TOO_LARGE')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { key: 'big', value: { list: Array.from({ length: 300 }, (_, i) => i) } }]), 413, 'ERR_BODY_TOO_LARGE')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { key: 'k', value: 1, etag: 'nope' }]), 400, 'ERR_STATE_SAVE')
    expectError(await save(h, [{ key: 'ok', value: 1 }, { key: 'k', value: 1, metadata: 'x' }]), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await save(h, JSON.stringify([{ key: 'ok', value: 'x'.repeat(70 * 1024) }])), 413, 'ERR_BODY_TOO_LARGE')
    expectError(await save(h, [{ key: 'ok', value: 1 }], '/v1.0/state/nostore'), 400, 'ERR_STATE_STORE_NOT_FOUND')
    assert.equal(await rawKeys(h), before, 'nothing was written')
    expectError(await get(h, 'a||b'), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await h.app.inject({ url: '/v1.0/state/nostore/k' }), 400, 'ERR_STATE_STORE_NOT_FOUND')
    expectError(await h.app.inject({ method: 'DELETE', url: '/v1.0/state/nostore/k' }), 400, 'ERR_STATE_STORE_NOT_FOUND')
    expectError(await h.app.inject({ method: 'DELETE', url: '/v1.0/state/statestore/a||b' }), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0/state/nostore/bulk', headers: json, payload: { keys: [] } }), 400, 'ERR_STATE_STORE_NOT_FOUND')
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0/state/nostore/transaction', headers: json, payload: { operations: [] } }), 400, 'ERR_STATE_STORE_NOT_FOUND')
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0-alpha1/state/nostore/query', headers: json, payload: {} }), 400, 'ERR_STATE_STORE_NOT_FOUND')
    expectError(await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore/bulk', headers: json, payload: '{nope' }), 400, 'ERR_MALFORMED_REQUEST')
    assert.is((await get(h, 'keep')).json(), 1)
    assert.is((await save(h, [])).statusCode, 204, 'an empty array saves nothing, successfully')
  })

  test('lock http - lock, unlock statuses and errors', async ({ h, clock }) => {
    const lock = (body: unknown, store = 'statestore', headers: Record<string, string> = {}) => h.app.inject({ method: 'POST', url: `/v1.0-alpha1/lock/${store}`, headers: { ...json, ...headers }, payload: body as object })
    const unlock = (body: unknown, store = 'statestore') => h.app.inject({ method: 'POST', url: `/v1.0-alpha1/unlock/${store}`, headers: json, payload: body as object })
    assert.equal((await lock({ resourceId: 'r', lockOwner: 'a', expiryInSeconds: 30 })).json(), { success: true })
    assert.equal((await lock({ resourceId: 'r', lockOwner: 'b', expiryInSeconds: 30 })).json(), { success: false })
    assert.equal((await lock({ resourceId: 'r', lockOwner: 'b', expiryInSeconds: 30 }, 'statestore', { 'dapr-app-id': 'other' })).json(), { success: true }, 'resource ids are scoped per app')
    assert.equal((await unlock({ resourceId: 'r', lockOwner: 'b' })).json(), { status: 2 })
    assert.equal((await unlock({ resourceId: 'zzz', lockOwner: 'a' })).json(), { status: 1 })
    assert.equal((await unlock({ resourceId: 'r', lockOwner: 'a' })).json(), { status: 0 })
    await lock({ resourceId: 'e', lockOwner: 'a', expiryInSeconds: 1 })
    clock.advance(1000)
    assert.equal((await lock({ resourceId: 'e', lockOwner: 'b', expiryInSeconds: 1 })).json(), { success: true })
    expectError(await lock({ resourceId: '', lockOwner: 'a', expiryInSeconds: 1 }), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await lock({ resourceId: 'r', lockOwner: '', expiryInSeconds: 1 }), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await lock({ resourceId: 'r', lockOwner: 'a', expiryInSeconds: -1 }), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await lock({ resourceId: 'a||b', lockOwner: 'a', expiryInSeconds: 1 }), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await lock('[1]'), 400, 'ERR_MALFORMED_REQUEST')
    expectError(await lock({ resourceId: 'r', lockOwner: 'a', expiryInSeconds: 1 }, 'nolocks'), 400, 'ERR_LOCK_STORE_NOT_FOUND')
    expectError(await unlock({ resourceId: 'r', lockOwner: 'a' }, 'nolocks'), 400, 'ERR_LOCK_STORE_NOT_FOUND')
  })

  test.run()
}

const tokenTest = suite('state http token')
tokenTest('state http - the dapr-api-token is required when set', async () => {
  for (const kind of ['minimal', 'server'] as const) {
    const h = await createHarness({ kind, token: 's3cret' })
    const no = await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore', headers: json, payload: [{ key: 'k', value: 1 }] })
    assert.is(no.statusCode, 401)
    assert.is(no.json().errorCode, 'ERR_API_UNAUTHORIZED')
    const yes = await h.app.inject({ method: 'POST', url: '/v1.0/state/statestore', headers: { ...json, 'dapr-api-token': 's3cret' }, payload: [{ key: 'k', value: 1 }] })
    assert.is(yes.statusCode, 204)
    await h.close()
  }
})
tokenTest.run()
