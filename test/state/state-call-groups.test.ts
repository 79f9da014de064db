/**
 * Concurrent writes to a `state.level` store are committed in groups (core/state/call-groups.ts): one read and
 * one LevelDB batch per group. Each write in a group keeps Dapr's rules on its own — ETags and first-write are
 * checked against what the writes before it left, a rejected one changes nothing and does not fail the others —
 * and every accepted write is on disk when it resolves.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { LevelStore } from '../../core/store/index.ts'
import { LevelStateStore } from '../../core/state/index.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

async function open (dataDir: string): Promise<{ store: LevelStore; state: LevelStateStore; batches: () => number; reads: () => number; close: () => Promise<void> }> {
  const store = await LevelStore.create({ dataDir })
  const ns = store.namespace('state-test')
  let batches = 0
  let reads = 0
  const batch = ns.batch.bind(ns)
  const getMany = ns.getMany.bind(ns)
  ns.batch = async (ops) => { batches++; await batch(ops) }
  ns.getMany = async (keys) => { reads++; return await getMany(keys) }
  const state = await LevelStateStore.create({ namespace: ns, name: 'test' })
  return { store, state, batches: () => batches, reads: () => reads, close: async () => { await state.close(); await store.close() } }
}

test('state call groups - 64 concurrent saves take far fewer batches, and all are on disk when they resolve', async () => {
  const dir = await tmpDir('wg')
  const a = await open(dir)
  const etags = await Promise.all(Array.from({ length: 64 }, (_, i) => a.state.set({ key: `k${i}`, value: { i } })))
  assert.is(new Set(etags).size, 64, 'every save gets its own ETag')
  assert.ok(a.batches() <= 8, `${a.batches()} batches for 64 saves`)
  await a.close()
  const b = await open(dir)
  for (let i = 0; i < 64; i++) assert.equal((await b.state.get(`k${i}`))?.value, { i })
  await b.close()
})

test('state call groups - in one group, the first write with an ETag wins and the next with the same ETag fails alone', async () => {
  const a = await open(await tmpDir('wg'))
  const etag = await a.state.set({ key: 'x', value: 0 })
  // Submitted together, so they are committed in the same group (the first goes alone while the rest gather).
  const results = await Promise.allSettled([
    a.state.set({ key: 'warm', value: 1 }),
    a.state.set({ key: 'x', value: 1, etag }),
    a.state.set({ key: 'x', value: 2, etag }),
    a.state.set({ key: 'y', value: 3 }),
    a.state.transact([{ operation: 'upsert', key: 'z', value: 4 }, { operation: 'delete', key: 'x', etag }]),
  ])
  assert.equal(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected'])
  assert.is(((results[2] as PromiseRejectedResult).reason as { code: string }).code, 'ERR_ETAG_MISMATCH')
  assert.equal((await a.state.get('x'))?.value, 1)
  assert.is((await a.state.get('x'))?.etag, (results[1] as PromiseFulfilledResult<string>).value)
  assert.equal((await a.state.get('y'))?.value, 3)
  assert.is(await a.state.get('z'), undefined, 'a rejected transaction writes none of its ops')
  await a.close()
})

test('state call groups - first-write: of concurrent creates of one key exactly one succeeds', async () => {
  const a = await open(await tmpDir('wg'))
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => a.state.set({ key: 'once', value: i, concurrency: 'first-write' })))
  const ok = results.flatMap((r, i) => r.status === 'fulfilled' ? [i] : [])
  assert.is(ok.length, 1)
  assert.equal((await a.state.get('once'))?.value, ok[0])
  await a.close()
})

test('state call groups - a save after a delete in the same group, and TTLs replaced within a group', async () => {
  const a = await open(await tmpDir('wg'))
  await a.state.set({ key: 'k', value: 'old', ttlInSeconds: 3600 })
  await Promise.all([
    a.state.set({ key: 'other', value: 0 }),
    a.state.delete({ key: 'k' }),
    a.state.set({ key: 'k', value: 'new' }),
  ])
  const item = await a.state.get('k')
  assert.equal(item?.value, 'new')
  assert.is(item?.expiresAt, undefined, 'the new value has no expiry')
  // The old value's expiry index entry went with it.
  const left: string[] = []
  for await (const k of a.store.namespace('state-test').namespace('ttl').keys()) left.push(k)
  assert.equal(left, [])
  await a.close()
})

test('state call groups - concurrent reads share multi-gets; each caller gets its own copy of a shared key', async () => {
  const a = await open(await tmpDir('wg'))
  await a.state.transact(Array.from({ length: 32 }, (_, i) => ({ operation: 'upsert' as const, key: `k${i}`, value: { i } })))
  const before = a.reads()
  const items = await Promise.all([...Array.from({ length: 32 }, (_, i) => a.state.get(`k${i}`)), a.state.get('k0'), a.state.get('missing')])
  assert.ok(a.reads() - before <= 4, `${a.reads() - before} multi-gets for 34 reads`)
  for (let i = 0; i < 32; i++) assert.equal(items[i]?.value, { i })
  assert.equal(items[32]?.value, { i: 0 })
  assert.is.not(items[32]?.value, items[0]?.value, 'not one object shared by two callers')
  assert.is(items[33], undefined)
  await a.close()
})

test.run()
