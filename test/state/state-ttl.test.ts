import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ManualClock } from '../../core/clock.ts'
import { LevelStateStore } from '../../core/state/index.ts'
import { MemoryStore, type Namespace } from '../../core/store/index.ts'

async function count (ns: Namespace<any>): Promise<number> {
  let n = 0
  for await (const _ of ns.keys()) n++
  return n
}

async function setup (opts: { sweepBatchSize?: number; sweepMaxBatches?: number } = {}) {
  const clock = new ManualClock(1_700_000_000_000)
  const mem = await MemoryStore.create()
  const ns = mem.namespace('state-ttl')
  const store = await LevelStateStore.create({ namespace: ns, name: 'ttl', clock, sweepIntervalMs: 1000, ...opts })
  return { clock, mem, ns, index: ns.namespace('ttl'), locks: ns.namespace('locks'), store, close: async () => { await store.close(); await mem.close() } }
}

test('state ttl - the sweeper deletes due values in bounded batches, driven by the clock', async () => {
  const { clock, ns, index, store, close } = await setup({ sweepBatchSize: 100, sweepMaxBatches: 3 })
  for (let i = 0; i < 1000; i += 50) {
    await store.transact(Array.from({ length: 50 }, (_, j) => ({ operation: 'upsert' as const, key: `k${i + j}`, value: i + j, ttlInSeconds: 5 })))
  }
  await store.set({ key: 'later', value: 1, ttlInSeconds: 3600 })
  await store.set({ key: 'kept', value: 1 })
  await store.set({ key: 'k7', value: 'renewed' }) // a rewrite without TTL drops its index entry at once
  assert.is(await count(index), 1000)
  clock.advance(5_000)
  assert.is(await store.get('k1'), undefined, 'expired reads as absent before any sweep')
  assert.is(await count(ns), 1002, 'nothing swept yet')
  // The interval timer fires inside advance(); each pass does at most 3 batches, then re-arms at 0 ms.
  let passes = 0
  for (; passes < 20 && await count(index) > 1; passes++) { clock.advance(passes === 0 ? 1000 : 0); await store.sweeping }
  assert.is(await count(index), 1, 'only the not-yet-due entry is left')
  assert.is(await count(ns), 3, 'later, kept and the renewed k7 remain')
  assert.is(store.sweepStats.deleted, 999)
  assert.is(store.sweepStats.batches, 10, 'batches of 100')
  assert.is(passes, 4, 'passes of at most 3 batches')
  assert.is((await store.get('k7'))?.value, 'renewed')
  assert.is((await store.get('later'))?.value, 1)
  await close()
})

test('state ttl - a sweep never deletes a value that was given new life after its index entry was read', async () => {
  const { clock, ns, store, close } = await setup()
  await store.set({ key: 'a', value: 1, ttlInSeconds: 1 })
  clock.advance(1_000)
  await store.set({ key: 'a', value: 2, ttlInSeconds: 100 }) // same key, new expiry, before the sweep
  await store.sweep()
  assert.is((await store.get('a'))?.value, 2)
  assert.is(await count(ns), 1)
  await close()
})

test('state ttl - expired locks are reclaimed by the same sweeper', async () => {
  const { clock, locks, store, close } = await setup()
  assert.ok(await store.tryLock({ resourceId: 'r1', lockOwner: 'o', expiryInSeconds: 2 }))
  assert.ok(await store.tryLock({ resourceId: 'r2', lockOwner: 'o', expiryInSeconds: 60 }))
  clock.advance(2_000)
  await store.sweep()
  assert.is(await count(locks), 1)
  assert.is(await store.unlock({ resourceId: 'r2', lockOwner: 'o' }), 0)
  await close()
})

test('state ttl - close stops the timer and is idempotent', async () => {
  const { clock, store, close } = await setup()
  await store.set({ key: 'a', value: 1, ttlInSeconds: 1 })
  await store.close(); await store.close()
  clock.advance(10_000)
  await store.sweeping
  assert.is(store.sweepStats.batches, 0)
  await close()
})

test.run()
