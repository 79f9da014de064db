import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ManualClock } from '../../core/clock.ts'
import type { StateStore } from '../../core/state/index.ts'

export interface StateStoreFixture { store: StateStore; close(): Promise<void> }

/** The behaviour every StateStore must have. `factory` returns a fresh, open, empty store on `clock`. */
export function stateStoreContract (name: string, factory: (clock: ManualClock) => Promise<StateStoreFixture>): void {
  const test = suite<{ f: StateStoreFixture; store: StateStore; clock: ManualClock }>(`${name} state store contract`)
  test.before.each(async (ctx) => {
    ctx.clock = new ManualClock(1_700_000_000_000)
    ctx.f = await factory(ctx.clock)
    ctx.store = ctx.f.store
  })
  test.after.each(async (ctx) => { await ctx.f.close() })

  const code = async (p: Promise<unknown>, expected: string): Promise<void> => {
    try { await p } catch (err) { assert.is((err as { code?: string }).code, expected, String(err)); return }
    assert.unreachable(`expected ${expected}`)
  }

  test('state store - values keep their JSON type; bytes stay bytes with their content type', async ({ store }) => {
    const values: unknown[] = ['text', '', 42, 1.5, -0.25, true, false, null, [1, 'a', null], { a: { b: [1, { c: 'd' }] } }, {}]
    for (const [i, v] of values.entries()) await store.set({ key: `k${i}`, value: v })
    for (const [i, v] of values.entries()) assert.equal((await store.get(`k${i}`))?.value, v, `value ${i}`)
    await store.set({ key: 'bin', value: Buffer.from([0, 1, 254, 255]), contentType: 'application/octet-stream' })
    const bin = await store.get('bin')
    assert.ok(Buffer.isBuffer(bin?.value))
    assert.equal([...(bin!.value as Buffer)], [0, 1, 254, 255])
    assert.is(bin?.contentType, 'application/octet-stream')
    assert.is(await store.get('absent'), undefined)
  })

  test('state store - ETags are decimal strings that grow with every write and are never reused', async ({ store }) => {
    const e1 = await store.set({ key: 'a', value: 1 })
    const e2 = await store.set({ key: 'a', value: 2 })
    assert.match(e1, /^[1-9][0-9]*$/)
    assert.ok(Number(e2) > Number(e1))
    assert.is((await store.get('a'))?.etag, e2)
    await store.delete({ key: 'a' })
    const e3 = await store.set({ key: 'a', value: 3 })
    assert.ok(Number(e3) > Number(e2), 'a re-created key does not reuse an old ETag')
    await code(store.set({ key: 'a', value: 4, etag: e1 }), 'ERR_ETAG_MISMATCH')
  })

  test('state store - an ETag is checked when given; a stale or unknown one changes nothing', async ({ store }) => {
    const e1 = await store.set({ key: 'k', value: 'v1' })
    const e2 = await store.set({ key: 'k', value: 'v2', etag: e1 })
    await code(store.set({ key: 'k', value: 'v3', etag: e1 }), 'ERR_ETAG_MISMATCH')
    await code(store.set({ key: 'k', value: 'v3', etag: e1, concurrency: 'first-write' }), 'ERR_ETAG_MISMATCH')
    await code(store.set({ key: 'new', value: 1, etag: '5' }), 'ERR_ETAG_MISMATCH')
    assert.is(await store.get('new'), undefined)
    assert.is((await store.get('k'))?.value, 'v2')
    assert.is((await store.get('k'))?.etag, e2)
  })

  test('state store - malformed ETags are refused before anything is read or written', async ({ store }) => {
    await store.set({ key: 'k', value: 1 })
    for (const bad of ['abc', '-1', '0', '1.5', ' 1', '01', 'W/"1"']) {
      await code(store.set({ key: 'k', value: 2, etag: bad }), 'ERR_MALFORMED_ETAG')
      await code(store.delete({ key: 'k', etag: bad }), 'ERR_MALFORMED_ETAG')
    }
    assert.is((await store.get('k'))?.value, 1)
  })

  test('state store - last-write ignores ETags; first-write without an ETag only creates', async ({ store }) => {
    await store.set({ key: 'k', value: 1 })
    await store.set({ key: 'k', value: 2, etag: '999999', concurrency: 'last-write' })
    assert.is((await store.get('k'))?.value, 2)
    await code(store.set({ key: 'k', value: 3, concurrency: 'first-write' }), 'ERR_ETAG_MISMATCH')
    await store.set({ key: 'fresh', value: 1, concurrency: 'first-write' })
    assert.is((await store.get('fresh'))?.value, 1)
    await store.set({ key: 'k', value: 4 })
    assert.is((await store.get('k'))?.value, 4, 'no concurrency and no ETag: last write wins')
  })

  test('state store - delete honours the ETag; deleting an absent key is fine without one', async ({ store }) => {
    const e = await store.set({ key: 'k', value: 1 })
    await code(store.delete({ key: 'k', etag: String(Number(e) + 1000) }), 'ERR_ETAG_MISMATCH')
    assert.is((await store.get('k'))?.value, 1)
    await store.delete({ key: 'k', etag: e })
    assert.is(await store.get('k'), undefined)
    await store.delete({ key: 'k' })
    await code(store.delete({ key: 'k', etag: e }), 'ERR_ETAG_MISMATCH')
  })

  test('state store - bulk get answers in key order, absent keys included', async ({ store }) => {
    await store.set({ key: 'a', value: 'A' }); await store.set({ key: 'c', value: { c: 1 } })
    const items = await store.bulkGet(['c', 'b', 'a'])
    assert.equal(items.map((i) => i?.value), [{ c: 1 }, undefined, 'A'])
    assert.equal(await store.bulkGet([]), [])
  })

  test('state store - a transaction applies in order and is all or nothing', async ({ store }) => {
    const e = await store.set({ key: 'x', value: 0 })
    await store.transact([
      { operation: 'upsert', key: 'a', value: 1 },
      { operation: 'upsert', key: 'a', value: 2 },
      { operation: 'upsert', key: 'b', value: 1 },
      { operation: 'delete', key: 'b' },
      { operation: 'upsert', key: 'x', value: 1, etag: e },
    ])
    assert.equal((await store.bulkGet(['a', 'b', 'x'])).map((i) => i?.value), [2, undefined, 1])
    await code(store.transact([
      { operation: 'upsert', key: 'c', value: 1 },
      { operation: 'delete', key: 'a' },
      { operation: 'upsert', key: 'x', value: 2, etag: e },
    ]), 'ERR_ETAG_MISMATCH')
    assert.equal((await store.bulkGet(['a', 'c', 'x'])).map((i) => i?.value), [2, undefined, 1], 'nothing of a failed transaction is written')
    await code(store.transact([{ operation: 'upsert', key: 'c', value: 1 }, { operation: 'merge' } as never]), 'ERR_NOT_SUPPORTED_STATE_OPERATION')
    assert.is(await store.get('c'), undefined)
    await store.transact([])
  })

  test('state store - 50 concurrent first-write increments with retry end at exactly 50', async ({ store }) => {
    await store.set({ key: 'n', value: 0 })
    let conflicts = 0
    const inc = async (): Promise<void> => {
      for (let attempt = 0; attempt < 1000; attempt++) {
        const cur = (await store.get('n'))!
        try { await store.set({ key: 'n', value: (cur.value as number) + 1, etag: cur.etag, concurrency: 'first-write' }); return } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_ETAG_MISMATCH') throw err
          conflicts++
        }
      }
      throw new Error('too many retries')
    }
    await Promise.all(Array.from({ length: 50 }, inc))
    assert.is((await store.get('n'))?.value, 50)
    assert.ok(conflicts > 0, 'the increments really raced')
  })

  test('state store - TTL: an expired value reads as absent at once, everywhere', async ({ store, clock }) => {
    await store.set({ key: 't', value: { n: 1 }, ttlInSeconds: 10 })
    await store.set({ key: 'forever', value: { n: 2 }, ttlInSeconds: -1 })
    const item = await store.get('t')
    assert.is(item?.expiresAt, clock.now() + 10_000)
    assert.is((await store.get('forever'))?.expiresAt, undefined)
    clock.advance(9_999)
    assert.equal((await store.get('t'))?.value, { n: 1 })
    clock.advance(1)
    assert.is(await store.get('t'), undefined)
    assert.equal((await store.bulkGet(['t', 'forever'])).map((i) => i?.value), [undefined, { n: 2 }])
    const q = await store.query({ filter: { IN: { n: [1, 2] } } })
    assert.equal(q.results.map((r) => r.key), ['forever'])
    await code(store.set({ key: 't', value: 1, etag: item!.etag }), 'ERR_ETAG_MISMATCH')
    await store.set({ key: 't', value: 'again', concurrency: 'first-write' })
    assert.is((await store.get('t'))?.value, 'again', 'an expired key can be created again')
  })

  test('state store - TTL: a later write without TTL clears the expiry', async ({ store, clock }) => {
    await store.set({ key: 't', value: 1, ttlInSeconds: 5 })
    await store.set({ key: 't', value: 2 })
    clock.advance(60_000)
    assert.is((await store.get('t'))?.value, 2)
  })

  test('state store - bad requests are refused with stable codes', async ({ store }) => {
    await code(store.set({ key: '', value: 1 }), 'ERR_STATE_KEY_INVALID')
    await code(store.set({ key: 'k', value: undefined }), 'ERR_MALFORMED_REQUEST')
    for (const ttl of [0, -2, 1.5, Number.NaN, '10' as never]) await code(store.set({ key: 'k', value: 1, ttlInSeconds: ttl }), 'ERR_MALFORMED_REQUEST')
    await code(store.set({ key: 'k', value: 1, concurrency: 'sometimes' as never }), 'ERR_MALFORMED_REQUEST')
    await code(store.get(''), 'ERR_STATE_KEY_INVALID')
    assert.is(await store.get('k'), undefined)
  })

  const people = [
    { key: 'app||p1', value: { name: 'ann', state: 'CA', age: 31, org: { dept: 'eng' } } },
    { key: 'app||p2', value: { name: 'bob', state: 'WA', age: 25, org: { dept: 'ops' } } },
    { key: 'app||p3', value: { name: 'cid', state: 'CA', age: 42, org: { dept: 'ops' } } },
    { key: 'app||p4', value: { name: 'dee', state: 'NY', age: 25, org: { dept: 'eng' } } },
    { key: 'app||p5', value: { name: 'eve', state: 'CA' } },
    { key: 'app||p6', value: 'not an object' },
    { key: 'other||p7', value: { name: 'zed', state: 'CA', age: 1 } },
  ]
  const load = async (store: StateStore): Promise<void> => { for (const p of people) await store.set(p) }
  const names = (r: { results: Array<{ value: unknown }> }): string[] => r.results.map((x) => (x.value as { name: string }).name)

  test('state query - EQ, IN, AND, OR on JSON fields, nested paths, within the app scope', async ({ store }) => {
    await load(store)
    const opts = { prefix: 'app||' }
    assert.equal(names(await store.query({ filter: { EQ: { state: 'CA' } } }, opts)), ['ann', 'cid', 'eve'])
    assert.equal(names(await store.query({ filter: { IN: { state: ['WA', 'NY'] } } }, opts)), ['bob', 'dee'])
    assert.equal(names(await store.query({ filter: { AND: [{ EQ: { state: 'CA' } }, { EQ: { 'org.dept': 'ops' } }] } }, opts)), ['cid'])
    assert.equal(names(await store.query({ filter: { OR: [{ EQ: { age: 25 } }, { EQ: { name: 'eve' } }] } }, opts)), ['bob', 'dee', 'eve'])
    assert.equal(names(await store.query({ filter: { GT: { age: 30 } } }, opts)), ['ann', 'cid'])
    assert.is((await store.query({}, opts)).results.length, 6)
    assert.is((await store.query({})).results.length, 7, 'no prefix: the whole store')
  })

  test('state query - sort ASC/DESC on several keys, missing fields first', async ({ store }) => {
    await load(store)
    const opts = { prefix: 'app||' }
    const r = await store.query({ filter: { EQ: { state: 'CA' } }, sort: [{ key: 'age', order: 'DESC' }] }, opts)
    assert.equal(names(r), ['cid', 'ann', 'eve'])
    const r2 = await store.query({ filter: { OR: [{ EQ: { state: 'CA' } }, { EQ: { state: 'WA' } }, { EQ: { state: 'NY' } }] }, sort: [{ key: 'age' }, { key: 'name', order: 'DESC' }] }, opts)
    assert.equal(names(r2), ['eve', 'dee', 'bob', 'ann', 'cid'])
  })

  test('state query - paging with a token visits every match exactly once, sorted or not', async ({ store }) => {
    for (let i = 0; i < 57; i++) await store.set({ key: `app||k${String(i).padStart(3, '0')}`, value: { i, even: i % 2 === 0, g: i % 5 } })
    for (const sort of [undefined, [{ key: 'g' }, { key: 'i', order: 'DESC' as const }]]) {
      const seen: number[] = []
      let token: string | undefined
      let pages = 0
      do {
        const r = await store.query({ filter: { EQ: { even: true } }, ...(sort ? { sort } : {}), page: { limit: 5, ...(token ? { token } : {}) } }, { prefix: 'app||' })
        assert.ok(r.results.length <= 5)
        seen.push(...r.results.map((x) => (x.value as { i: number }).i))
        token = r.token
        pages++
      } while (token !== undefined && pages < 100)
      assert.is(seen.length, 29)
      assert.is(new Set(seen).size, 29)
      if (sort) {
        const expected = [...seen].sort((a, b) => (a % 5) - (b % 5) || b - a)
        assert.equal(seen, expected, 'pages continue the sort order')
      }
      assert.is(pages, 6)
    }
  })

  test('state query - malformed queries and foreign tokens are refused as 400', async ({ store }) => {
    for (const q of [{ filter: { NOPE: { a: 1 } } }, { filter: { EQ: { a: 1, b: 2 } } }, { filter: { IN: { a: 1 } } }, { filter: { AND: [] } },
      { sort: [{ key: 'a', order: 'UP' }] }, { page: { limit: -1 } }, { page: { token: 'garbage' } }, { bogus: 1 }, 'text']) {
      try { await store.query(q as never); assert.unreachable(JSON.stringify(q)) } catch (err) {
        assert.is((err as { code?: string }).code, 'ERR_STATE_QUERY', JSON.stringify(q))
        assert.is((err as { status?: number }).status, 400)
      }
    }
    for (let i = 0; i < 3; i++) await store.set({ key: `a||${i}`, value: { i } })
    const r = await store.query({ page: { limit: 1 } }, { prefix: 'a||' })
    assert.ok(r.token)
    await code(store.query({ page: { limit: 1, token: r.token } }, { prefix: 'b||' }), 'ERR_STATE_QUERY')
  })

  test('lock - owner, expiry and the unlock statuses 0, 1, 2', async ({ store, clock }) => {
    assert.is(await store.tryLock({ resourceId: 'r', lockOwner: 'a', expiryInSeconds: 10 }), true)
    assert.is(await store.tryLock({ resourceId: 'r', lockOwner: 'b', expiryInSeconds: 10 }), false)
    assert.is(await store.tryLock({ resourceId: 'r', lockOwner: 'a', expiryInSeconds: 10 }), false, 'not re-entrant')
    assert.is(await store.unlock({ resourceId: 'r', lockOwner: 'b' }), 2)
    assert.is(await store.unlock({ resourceId: 'nope', lockOwner: 'a' }), 1)
    assert.is(await store.unlock({ resourceId: 'r', lockOwner: 'a' }), 0)
    assert.is(await store.unlock({ resourceId: 'r', lockOwner: 'a' }), 1)
    assert.is(await store.tryLock({ resourceId: 'r', lockOwner: 'b', expiryInSeconds: 5 }), true)
    clock.advance(5_000)
    assert.is(await store.unlock({ resourceId: 'r', lockOwner: 'b' }), 1, 'an expired lock does not exist')
    assert.is(await store.tryLock({ resourceId: 'r', lockOwner: 'c', expiryInSeconds: 5 }), true, 'an expired lock can be taken')
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.tryLock({ resourceId: 'race', lockOwner: `o${i}`, expiryInSeconds: 5 })))
    assert.is(results.filter(Boolean).length, 1, 'exactly one concurrent taker wins')
    await code(store.tryLock({ resourceId: '', lockOwner: 'a', expiryInSeconds: 1 }), 'ERR_MALFORMED_REQUEST')
    await code(store.tryLock({ resourceId: 'x', lockOwner: '', expiryInSeconds: 1 }), 'ERR_MALFORMED_REQUEST')
    await code(store.tryLock({ resourceId: 'x', lockOwner: 'a', expiryInSeconds: 0 }), 'ERR_MALFORMED_REQUEST')
  })

  test('state store - close is idempotent and later use fails with a stable code', async ({ store }) => {
    await store.close(); await store.close()
    await code(store.get('k'), 'MECHA_ERR_STORE_CLOSED')
    await code(store.set({ key: 'k', value: 1 }), 'MECHA_ERR_STORE_CLOSED')
  })

  test.run()
}
