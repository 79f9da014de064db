import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Store } from '../../core/store/index.ts'

/** The behaviour every Store implementation must have. `factory` returns a fresh, open store. */
export function storeContract (name: string, factory: () => Promise<Store>): void {
  const test = suite<{ store: Store }>(`${name} store contract`)
  test.before.each(async (ctx) => { ctx.store = await factory() })
  test.after.each(async (ctx) => { await ctx.store.close() })

  test('store - put, get and del round-trip values of every kind', async ({ store }) => {
    const ns = store.namespace('t')
    const values: unknown[] = ['text', 42, 1.5, true, { a: [1, { b: 'c' }] }, Buffer.from([0, 1, 255])]
    for (const [i, v] of values.entries()) await ns.put(`k${i}`, v)
    for (const [i, v] of values.entries()) assert.equal(await ns.get(`k${i}`), v)
    await ns.del('k0')
    assert.is(await ns.get('k0'), undefined)
    assert.equal(await ns.getMany(['k1', 'nope']), [42, undefined])
  })

  test('store - namespaces are isolated, nested ones too', async ({ store }) => {
    const a = store.namespace('a'); const b = store.namespace('b'); const a1 = a.namespace('one')
    await a.put('k', 1); await b.put('k', 2); await a1.put('k', 3)
    assert.is(await a.get('k'), 1); assert.is(await b.get('k'), 2); assert.is(await a1.get('k'), 3)
    const keys: string[] = []
    for await (const k of a.keys()) keys.push(k)
    assert.equal(keys, ['k'], 'a child namespace does not leak into the parent listing')
    assert.is(a1.path, 'a.one')
  })

  test('store - entries come in key order, with prefix, range, reverse and limit', async ({ store }) => {
    const ns = store.namespace('r')
    for (const k of ['b2', 'a1', 'b1', 'c1', 'b10']) await ns.put(k, k.toUpperCase())
    const all: string[] = []
    for await (const [k] of ns.entries()) all.push(k)
    assert.equal(all, ['a1', 'b1', 'b10', 'b2', 'c1'])
    const pref: Array<[string, unknown]> = []
    for await (const e of ns.entries({ prefix: 'b' })) pref.push(e)
    assert.equal(pref, [['b1', 'B1'], ['b10', 'B10'], ['b2', 'B2']])
    const rev: string[] = []
    for await (const k of ns.keys({ reverse: true, limit: 2 })) rev.push(k)
    assert.equal(rev, ['c1', 'b2'])
    const range: string[] = []
    for await (const k of ns.keys({ gt: 'a1', lt: 'b2' })) range.push(k)
    assert.equal(range, ['b1', 'b10'])
    // entryList: the same entries, at once.
    assert.equal(await ns.entryList({ prefix: 'b' }), pref)
    assert.equal(await ns.entryList({ gt: 'a1', limit: 2 }), [['b1', 'B1'], ['b10', 'B10']])
    assert.equal((await ns.entryList({ reverse: true, limit: 2 })).map(([k]) => k), ['c1', 'b2'])
    assert.equal(await ns.entryList({ prefix: 'zz' }), [])
  })

  test('store - a batch across namespaces is atomic', async ({ store }) => {
    const a = store.namespace('a'); const b = store.namespace('b')
    await a.put('old', 1)
    await a.batch([{ type: 'del', key: 'old' }, { type: 'put', key: 'new', value: 2 }, { type: 'put', key: 'x', value: 3, ns: b }])
    assert.equal(await a.getMany(['old', 'new']), [undefined, 2])
    assert.is(await b.get('x'), 3)
    // An invalid op anywhere rejects the whole batch and writes nothing.
    try {
      await a.batch([{ type: 'put', key: 'y', value: 1 }, { type: 'put', key: 'z', value: undefined as unknown }])
      assert.unreachable('batch with an undefined value must throw')
    } catch (err) {
      assert.instance(err, TypeError)
    }
    assert.is(await a.get('y'), undefined)
  })

  test('store - clear removes a range only', async ({ store }) => {
    const ns = store.namespace('c')
    for (const k of ['x1', 'x2', 'y1']) await ns.put(k, 1)
    await ns.clear({ prefix: 'x' })
    const left: string[] = []
    for await (const k of ns.keys()) left.push(k)
    assert.equal(left, ['y1'])
  })

  test('store - null and undefined values are refused before anything is written', async ({ store }) => {
    const ns = store.namespace('n')
    for (const bad of [null, undefined]) {
      try { await ns.put('k', bad); assert.unreachable() } catch (err) { assert.instance(err, TypeError) }
    }
    assert.is(await ns.get('k'), undefined)
  })

  test('store - close is idempotent and later use fails with a stable code', async ({ store }) => {
    const ns = store.namespace('z')
    await store.close(); await store.close()
    assert.is(store.status, 'closed')
    try { await ns.get('k'); assert.unreachable() } catch (err) { assert.is((err as { code?: string }).code, 'MECHA_ERR_STORE_CLOSED') }
    try { await ns.put('k', 1); assert.unreachable() } catch (err) { assert.is((err as { code?: string }).code, 'MECHA_ERR_STORE_CLOSED') }
  })

  test.run()
}
