/**
 * Outbox start-up from the meta record: the usage per level is persisted with every write and trusted at the
 * next start (no scan of the backlog); a missing, old, dirty or disagreeing record falls back to a full scan.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryStore, type Namespace } from '../../core/store/index.ts'
import { systemClock } from '../../core/clock.ts'
import { Outbox } from '../../cloud-bridge/outbox.ts'
import { testLogger } from './helpers.ts'

/** The namespace, counting range reads that cover the queue's values (what a full scan does). */
function counting (ns: Namespace<any>): { ns: Namespace<any>; scans: () => number } {
  let scans = 0
  const entries: Namespace<any>['entries'] = (opts) => { if (opts?.prefix === 'q/') scans++; return ns.entries(opts) }
  // A proxy that calls through on the real namespace (its methods use private fields).
  const wrapped = new Proxy(ns, {
    get (target, prop) {
      if (prop === 'entries') return entries
      const v: unknown = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return { ns: wrapped, scans: () => scans }
}

const open = (ns: Namespace<any>): Promise<Outbox> =>
  Outbox.create({ ns, maxBytes: 1 << 24, maxMessages: 100_000, whenFull: 'drop-oldest', clock: systemClock, log: testLogger() })

async function fill (box: Outbox, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => box.enqueue({
    topic: `t/${i % 3}`, localTopic: `s/${i % 3}`, payload: Buffer.alloc(10 + (i % 7), i), qos: 1, retain: false, priority: i % 3 === 0 ? 0 : 7,
  })))
}

async function fresh (): Promise<{ store: MemoryStore; ns: Namespace<any> }> {
  const store = await MemoryStore.create()
  return { store, ns: store.namespace('cloud-outbox') }
}

test('outbox meta - usage is persisted with every write and trusted at start-up without a scan', async () => {
  const { store, ns } = await fresh()
  const box = await open(ns)
  await fill(box, 300)
  const { items } = await box.read(0, undefined, 40)
  await box.complete(items, 'delivered')
  const before = box.ledger()
  await box.close()

  const c = counting(ns)
  const again = await open(c.ns)
  assert.is(c.scans(), 0, 'no scan of the queue')
  assert.equal(again.ledger(), before)
  assert.equal(again.nonEmptyLevels(), [0, 7])
  assert.is(again.count, 260)
  await again.close()
  // The trusted figures are the true ones: a recount after dropping the meta record agrees.
  await ns.del('meta')
  const recounted = await open(ns)
  assert.is(recounted.count, before.queued)
  assert.is(recounted.bytes, before.queuedBytes)
  await recounted.close()
  await store.close()
})

test('outbox meta - without a meta record the queue is scanned and the sequence continues after it', async () => {
  const { store, ns } = await fresh()
  const box = await open(ns)
  await fill(box, 50)
  await box.close()
  await ns.del('meta')

  const c = counting(ns)
  const again = await open(c.ns)
  assert.is(c.scans(), 1, 'recovered by a scan')
  assert.is(again.count, 50)
  const entry = await again.enqueue({ topic: 't', localTopic: 's', payload: Buffer.from('x'), qos: 1, retain: false, priority: 7 })
  assert.is(entry.seq, 51, 'no key of the existing entries is reused')
  assert.is(again.count, 51)
  await again.close()
  // The recount was written back: the next start trusts it.
  const c2 = counting(ns)
  const third = await open(c2.ns)
  assert.is(c2.scans(), 0)
  assert.is(third.count, 51)
  await third.close()
  await store.close()
})

test('outbox meta - an old record (no levels), a dirty one or one that disagrees with the disk is recounted', async () => {
  const { store, ns } = await fresh()
  const box = await open(ns)
  await fill(box, 30)
  const truth = box.ledger()
  await box.close()
  const meta = await ns.get('meta') as Record<string, unknown>

  const variants: Array<[string, Record<string, unknown>]> = [
    ['old format', { ...meta, levels: undefined }],
    ['dirty', { ...meta, dirty: true }],
    ['level 7 recorded empty but holds entries', { ...meta, levels: (meta.levels as Array<[number, number]>).map(([c, b], p) => p === 7 ? [0, 0] : [c, b]) }],
    ['malformed', { ...meta, levels: [[1, 2]] }],
  ]
  for (const [what, value] of variants) {
    const clean = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined))
    await ns.put('meta', clean)
    const c = counting(ns)
    const again = await open(c.ns)
    assert.is(c.scans(), 1, `${what}: recounted`)
    assert.is(again.count, truth.queued, what)
    assert.is(again.bytes, truth.queuedBytes, what)
    assert.ok(again.ledger().balanced, what)
    await again.close()
    const stored = await ns.get('meta') as { dirty?: boolean; levels?: unknown }
    assert.is(stored.dirty, undefined, `${what}: the rewritten record is clean`)
    assert.ok(Array.isArray(stored.levels))
  }
  await store.close()
})

test.run()
