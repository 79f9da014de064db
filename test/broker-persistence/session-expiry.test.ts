/**
 * The persistence side of session expiry: offline records (kept across reopen, time-ordered, bounded reads),
 * dropping a whole session (subscriptions, queue, QoS 2 state, will), and SessionExpiry's bounded batches.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ManualClock } from '../../core/clock.ts'
import { createLogger } from '../../core/logger.ts'
import { LevelStore, type Store } from '../../core/store/index.ts'
import { LevelPersistence, type BrokerPacket } from '../../edge/broker/persistence/index.ts'
import { SWEEP_BATCH, SessionExpiry } from '../../edge/broker/session-expiry.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'

test.after(cleanupTmp)

const silent = createLogger({ level: 'silent', pretty: false, write: () => {} })

interface Opened { store: Store; p: LevelPersistence }

async function open (dataDir: string): Promise<Opened> {
  const store = await LevelStore.create({ dataDir })
  const p = await LevelPersistence.create(store.namespace('broker'))
  await p.setup({ id: 'broker-a' })
  return { store, p }
}

async function close (o: Opened): Promise<void> { await o.p.destroy(); await o.store.close() }

async function count (store: Store, child: string): Promise<number> {
  let n = 0
  for await (const _ of store.namespace('broker').namespace(child).keys()) n++
  return n
}

function publish (topic: string, payload: string, extra: Partial<BrokerPacket> = {}): BrokerPacket {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false, brokerId: 'broker-a', brokerCounter: 1, ...extra }
}

test('offline records - the earliest time is kept, reads are time-ordered, bounded and cut off, and survive a reopen', async () => {
  const dir = await tmpDir('offline')
  let o = await open(dir)
  await o.p.markOffline('c', 300)
  await o.p.markOffline('a', 100)
  await o.p.markOffline('b', 200)
  await o.p.markOffline('a', 250) // still offline since 100
  await o.p.markOffline('a\u0000x', 150) // a NUL in an id does not collide with 'a'
  assert.equal(await o.p.offlineBefore(300, 10), [{ clientId: 'a', since: 100 }, { clientId: 'a\u0000x', since: 150 }, { clientId: 'b', since: 200 }])
  assert.equal((await o.p.offlineBefore(1000, 2)).map((s) => s.clientId), ['a', 'a\u0000x'])
  await o.p.markOnline('b')
  await o.p.markOnline('never-offline')
  await close(o)

  o = await open(dir)
  assert.is(o.p.offlineCount, 3)
  assert.is(o.p.offlineSince('a'), 100)
  assert.is(o.p.offlineSince('b'), undefined)
  assert.equal((await o.p.offlineBefore(1000, 10)).map((s) => s.clientId), ['a', 'a\u0000x', 'c'])
  assert.is(await count(o.store, 'offline-at'), 3)
  await close(o)
})

test('dropSession - removes subscriptions, queue, QoS 2 state, will and record of one client only', async () => {
  const o = await open(await tmpDir('offline'))
  for (const id of ['gone', 'gone2']) {
    await o.p.addSubscriptions({ id }, [{ topic: 'x/#', qos: 1 }, { topic: 'y', qos: 0 }])
    await o.p.outgoingEnqueueCombi([{ clientId: id, qos: 1 }], publish('x/1', 'one'))
    await o.p.outgoingEnqueueCombi([{ clientId: id, qos: 1 }], publish('x/2', 'two', { brokerCounter: 2 }))
    await o.p.incomingStorePacket({ id }, publish('in', 'q2', { qos: 2, messageId: 7 }))
    await o.p.putWill({ id }, publish('will', 'bye'))
    await o.p.markOffline(id, 10)
  }
  const dropped = await o.p.dropSession('gone')
  assert.equal(dropped, { subscriptions: 2, queued: 2 })
  assert.equal(await o.p.subscriptionsByClient({ id: 'gone' }), [])
  assert.equal((await o.p.subscriptionsByTopic('x/1')).map((s) => s.clientId), ['gone2'])
  const queue: unknown[] = []
  for await (const p of o.p.outgoingStream({ id: 'gone' })) queue.push(p)
  assert.equal(queue, [])
  try {
    await o.p.incomingGetPacket({ id: 'gone' }, { messageId: 7 })
    assert.unreachable('QoS 2 state must be gone')
  } catch (err) { assert.match((err as Error).message, /no incoming packet/) }
  assert.is(await o.p.getWill({ id: 'gone' }), undefined)
  assert.is(o.p.offlineSince('gone'), undefined)
  // Only the other client's entries are left on disk.
  assert.is(await count(o.store, 'subs'), 2)
  assert.is(await count(o.store, 'outgoing'), 2)
  assert.is(await count(o.store, 'incoming'), 1)
  assert.is(await count(o.store, 'wills'), 1)
  assert.is(await count(o.store, 'offline'), 1)
  assert.is(await count(o.store, 'offline-at'), 1)
  assert.equal(await o.p.sessionsWithoutRecord(), [])
  await o.p.addSubscriptions({ id: 'new' }, [{ topic: 'z', qos: 1 }])
  await o.p.incomingStorePacket({ id: 'q2-only' }, publish('in', 'q2', { qos: 2, messageId: 1 }))
  assert.equal((await o.p.sessionsWithoutRecord()).sort(), ['new', 'q2-only'])
  await close(o)
})

test('SessionExpiry - sweeps in bounded batches, skips online clients and clears their records', async () => {
  const o = await open(await tmpDir('offline'))
  const clock = new ManualClock(1_000_000)
  const total = 2 * SWEEP_BATCH + 50
  for (let i = 0; i < total; i++) {
    const id = `s${String(i).padStart(4, '0')}`
    await o.p.addSubscriptions({ id }, [{ topic: `t/${i}`, qos: 1 }])
    await o.p.markOffline(id, clock.now())
  }
  const online = new Set(['s0000'])
  const expired: string[] = []
  const expiry = new SessionExpiry({ store: o.p, expirySeconds: 60, log: silent, clock, isOnline: (id) => online.has(id), onExpired: (id) => { expired.push(id) }, sweepIntervalMs: 10_000 })
  await expiry.start()
  clock.advance(10_000)
  await expiry.idle()
  assert.is(expired.length, 0, 'nothing due yet')
  // A tick reads the clock when its timer fires: the one at +80 s sees everything due and takes one batch.
  clock.advance(60_000)
  await expiry.idle()
  clock.advance(10_000)
  await expiry.idle()
  assert.is(expired.length, SWEEP_BATCH - 1, 'one batch, less the online client')
  assert.is(o.p.offlineSince('s0000'), undefined, 'an online client loses its stale record')
  clock.advance(0) // a full batch: the next one follows at once
  await expiry.idle()
  assert.is(expired.length, 2 * SWEEP_BATCH - 1)
  clock.advance(0)
  await expiry.idle()
  assert.is(expired.length, total - 1)
  assert.is((await o.p.subscriptionsByClient({ id: 's0000' })).length, 1)
  assert.is(await count(o.store, 'subs'), 1)
  assert.is(o.p.offlineCount, 0)
  await expiry.close()
  await close(o)
})

test('SessionExpiry - a client connecting while its session is being dropped waits for the drop to finish', async () => {
  const o = await open(await tmpDir('offline'))
  const clock = new ManualClock(0)
  await o.p.addSubscriptions({ id: 'racer' }, [{ topic: 'r', qos: 1 }])
  for (let i = 0; i < 50; i++) await o.p.outgoingEnqueueCombi([{ clientId: 'racer', qos: 1 }], publish('r', `m${i}`, { brokerCounter: i }))
  await o.p.markOffline('racer', 0)
  const expiry = new SessionExpiry({ store: o.p, expirySeconds: 1, log: silent, clock, isOnline: () => false })
  clock.advance(5000)
  const sweep = expiry.sweep()
  // The drop has started once the subscriptions left the index (its first, synchronous step).
  for (let i = 0; i < 1000 && (await o.p.subscriptionsByClient({ id: 'racer' })).length > 0; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.ok(await count(o.store, 'outgoing') > 0, 'caught the drop half-way')
  await expiry.online('racer')
  // By the time a connect may restore the session, it is gone entirely, not half.
  assert.is(await count(o.store, 'outgoing'), 0)
  assert.is(await count(o.store, 'subs'), 0)
  assert.is(o.p.offlineSince('racer'), undefined)
  assert.is(await sweep, 1)
  await expiry.close()
  await close(o)
})

test.run()
