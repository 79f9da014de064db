import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ManualClock } from '../../core/clock.ts'
import { isMechaError } from '../../core/errors.ts'
import { JobScheduler, jobSpecFromRequest, jobCallbackRequest, type DueJob, type JobSpec } from '../../core/jobs/index.ts'
import { MemoryStore, type Store } from '../../core/store/index.ts'

const T0 = Date.parse('2024-01-01T00:00:00.000Z')

interface Ctx {
  clock: ManualClock
  store: Store
  sched: JobScheduler
  calls: Array<DueJob & { now: number }>
  /** Makes the next deliveries fail (a count) or hang. */
  fail: number
}

const test = suite<Ctx>('jobs scheduler')

async function make (ctx: Ctx, store?: Store): Promise<void> {
  ctx.store = store ?? ctx.store
  ctx.sched = await JobScheduler.create({
    namespace: ctx.store.namespace('jobs'),
    clock: ctx.clock,
    deliver: async (job) => {
      ctx.calls.push({ ...job, now: ctx.clock.now() })
      if (ctx.fail > 0) { ctx.fail--; throw new Error('app said 500') }
    },
  })
  ctx.sched.start()
}

test.before.each(async (ctx) => {
  ctx.clock = new ManualClock(T0)
  ctx.store = await MemoryStore.create()
  ctx.calls = []
  ctx.fail = 0
  await make(ctx)
})
test.after.each(async (ctx) => {
  await ctx.sched.close()
  await ctx.store.close()
})

/** Moves the clock in steps of `step` ms, letting the scheduler's async writes settle after each. */
async function advance (ctx: Ctx, ms: number, step = ms): Promise<void> {
  for (let done = 0, first = true; first || done < ms; first = false) {
    const d = Math.min(step, ms - done)
    ctx.clock.advance(d)
    done += d
    for (let i = 0; i < 5; i++) { await ctx.sched.idle(); ctx.clock.advance(0) }
  }
}

const spec = (name: string, body: Record<string, unknown>, appId = 'app1'): JobSpec => jobSpecFromRequest(appId, name, body)

test('jobs - a one-shot dueTime job fires once at its time, never before, then is deleted', async (ctx) => {
  await ctx.sched.schedule(spec('once', { dueTime: '30s', data: { value: 'hi' } }))
  await advance(ctx, 29_999)
  assert.is(ctx.calls.length, 0, 'not before due')
  await advance(ctx, 1)
  assert.is(ctx.calls.length, 1)
  assert.is(ctx.calls[0]!.now, T0 + 30_000)
  assert.is(ctx.calls[0]!.dueAt, T0 + 30_000)
  assert.equal(ctx.calls[0]!.data, { value: 'hi' })
  assert.is(ctx.sched.get('app1', 'once'), undefined, 'deleted once delivered')
  assert.equal(await ctx.store.namespace('jobs').get('app1||once'), undefined)
  await advance(ctx, 60_000, 10_000)
  assert.is(ctx.calls.length, 1)
})

test('jobs - an RFC3339 dueTime', async (ctx) => {
  await ctx.sched.schedule(spec('at', { dueTime: '2024-01-01T00:01:00Z' }))
  await advance(ctx, 59_000)
  assert.is(ctx.calls.length, 0)
  await advance(ctx, 1000)
  assert.is(ctx.calls.length, 1)
  assert.is(ctx.calls[0]!.data, undefined)
})

test('jobs - @every with repeats fires that many times, evenly, then is gone', async (ctx) => {
  await ctx.sched.schedule(spec('rep', { schedule: '@every 10s', repeats: 3, data: 7 }))
  assert.equal(ctx.sched.get('app1', 'rep'), { name: 'rep', schedule: '@every 10s', repeats: 3, data: 7 })
  await advance(ctx, 60_000, 1000)
  assert.equal(ctx.calls.map((c) => c.now - T0), [10_000, 20_000, 30_000])
  assert.is(ctx.sched.get('app1', 'rep'), undefined)
})

test('jobs - dueTime then schedule: first at dueTime, then every interval after it', async (ctx) => {
  await ctx.sched.schedule(spec('both', { dueTime: '5s', schedule: '@every 10s', repeats: 3 }))
  await advance(ctx, 40_000, 1000)
  assert.equal(ctx.calls.map((c) => c.now - T0), [5000, 15_000, 25_000])
})

test('jobs - a cron schedule', async (ctx) => {
  await ctx.sched.schedule(spec('cron', { schedule: '*/15 * * * * *', repeats: 2 }))
  await advance(ctx, 60_000, 5000)
  assert.equal(ctx.calls.map((c) => c.now - T0), [15_000, 30_000])
})

test('jobs - ttl ends a repeating job', async (ctx) => {
  await ctx.sched.schedule(spec('ttl', { schedule: '@every 10s', ttl: '35s' }))
  await advance(ctx, 100_000, 5000)
  assert.equal(ctx.calls.map((c) => c.now - T0), [10_000, 20_000, 30_000])
  assert.is(ctx.sched.get('app1', 'ttl'), undefined, 'deleted at the end of its ttl')
})

test('jobs - a failed delivery is retried with backoff (1 s, 2 s, 4 s), then dropped', async (ctx) => {
  ctx.fail = 10
  await ctx.sched.schedule(spec('flaky', { dueTime: '1s' }))
  await advance(ctx, 20_000, 250)
  assert.equal(ctx.calls.map((c) => c.now - T0), [1000, 2000, 4000, 8000])
  assert.equal(ctx.calls.map((c) => c.attempt), [0, 1, 2, 3])
  assert.ok(ctx.calls.every((c) => c.dueAt === T0 + 1000))
  assert.is(ctx.sched.get('app1', 'flaky'), undefined, 'a one-shot job is gone after its trigger was dropped')
  assert.is(ctx.sched.counters().dropped, 1)
})

test('jobs - a retry that succeeds clears the trigger; the schedule goes on', async (ctx) => {
  ctx.fail = 1
  await ctx.sched.schedule(spec('heal', { schedule: '@every 10s', repeats: 2 }))
  await advance(ctx, 30_000, 500)
  assert.equal(ctx.calls.map((c) => c.now - T0), [10_000, 11_000, 20_000])
  assert.is(ctx.sched.counters().delivered, 2)
})

test('jobs - failure_policy constant and drop', async (ctx) => {
  ctx.fail = 100
  await ctx.sched.schedule(spec('const', { dueTime: '1s', failure_policy: { constant: { interval: '5s', max_retries: 2 } } }))
  await ctx.sched.schedule(spec('drop', { dueTime: '1s', failure_policy: { drop: {} } }))
  await advance(ctx, 30_000, 500)
  assert.equal(ctx.calls.filter((c) => c.name === 'const').map((c) => c.now - T0), [1000, 6000, 11_000])
  assert.equal(ctx.calls.filter((c) => c.name === 'drop').map((c) => c.now - T0), [1000])
})

test('jobs - a delivery that never answers times out and is retried', async (ctx) => {
  await ctx.sched.close()
  let n = 0
  ctx.sched = await JobScheduler.create({
    namespace: ctx.store.namespace('jobs'), clock: ctx.clock, deliveryTimeoutMs: 1000,
    deliver: async () => { n++; if (n === 1) await new Promise(() => {}) },
  })
  ctx.sched.start()
  await ctx.sched.schedule(spec('hang', { dueTime: '1s' }))
  await advance(ctx, 1000)
  assert.is(n, 1)
  await advance(ctx, 1000) // times out
  await advance(ctx, 1000) // the first retry, 1 s later
  assert.is(n, 2)
  assert.is(ctx.sched.get('app1', 'hang'), undefined)
})

test('jobs - overwrite: an existing name is a 409 unless overwrite is true', async (ctx) => {
  await ctx.sched.schedule(spec('dup', { dueTime: '10s', data: 1 }))
  try { await ctx.sched.schedule(spec('dup', { dueTime: '20s', data: 2 })); assert.unreachable() } catch (err) {
    assert.ok(isMechaError(err, 'ERR_SCHEDULE_JOB'), String(err))
    assert.is((err as { status: number }).status, 409)
  }
  await ctx.sched.schedule(spec('dup', { dueTime: '20s', data: 3, overwrite: true }))
  await advance(ctx, 30_000, 1000)
  assert.equal(ctx.calls.map((c) => [c.now - T0, c.data]), [[20_000, 3]])
})

test('jobs - the same name in two apps is two jobs; each app gets its own', async (ctx) => {
  await ctx.sched.schedule(spec('j', { dueTime: '1s', data: 'a' }, 'app-a'))
  await ctx.sched.schedule(spec('j', { dueTime: '2s', data: 'b' }, 'app-b'))
  await advance(ctx, 3000, 500)
  assert.equal(ctx.calls.map((c) => [c.appId, c.data]), [['app-a', 'a'], ['app-b', 'b']])
})

test('jobs - delete stops a job; a delivery in flight is not retried after it', async (ctx) => {
  await ctx.sched.schedule(spec('del', { schedule: '@every 1s' }))
  await advance(ctx, 2000, 500)
  assert.is(ctx.calls.length, 2)
  assert.is(await ctx.sched.delete('app1', 'del'), true)
  assert.is(await ctx.sched.delete('app1', 'del'), false)
  await advance(ctx, 5000, 500)
  assert.is(ctx.calls.length, 2)
})

test('jobs - invalid requests are ERR_MALFORMED_JOB with the field named', () => {
  const bad: Array<[unknown, string]> = [
    [{}, 'schedule or a dueTime'],
    [{ schedule: 'every day' }, 'invalid schedule'],
    [{ dueTime: 'later' }, 'dueTime "later"'],
    [{ schedule: '@every 1s', repeats: -1 }, 'repeats'],
    [{ schedule: '@every 1s', repeats: 1.5 }, 'repeats'],
    [{ schedule: '@every 1s', overwrite: 'yes' }, 'overwrite'],
    [{ schedule: '@every 1s', extra: 1 }, 'unknown field "extra"'],
    [{ schedule: '@every 1s', failure_policy: { constant: { interval: 'x' } } }, 'failure_policy.constant.interval'],
    [{ schedule: '@every 1s', name: 'other' }, 'only be set in the URL'],
  ]
  for (const [body, why] of bad) {
    try { jobSpecFromRequest('app', 'n', body); assert.unreachable(JSON.stringify(body)) } catch (err) {
      assert.ok(isMechaError(err, 'ERR_MALFORMED_JOB'), `${JSON.stringify(body)}: ${String(err)}`)
      assert.match((err as Error).message, why)
    }
  }
  try { jobSpecFromRequest('app', '', { dueTime: '1s' }); assert.unreachable() } catch (err) { assert.match((err as Error).message, 'name is empty') }
  try { jobSpecFromRequest('app', 'n', [1]); assert.unreachable() } catch (err) { assert.ok(isMechaError(err, 'ERR_MALFORMED_REQUEST')) }
})

test('jobs - a ttl before the first fire is refused at schedule time', async (ctx) => {
  try { await ctx.sched.schedule(spec('t', { dueTime: '10s', ttl: '5s' })); assert.unreachable() } catch (err) {
    assert.ok(isMechaError(err, 'ERR_MALFORMED_JOB'), String(err))
  }
  assert.is(ctx.sched.size, 0)
})

test('jobs - jobs survive a restart on the same store; a trigger missed while down fires once', async (ctx) => {
  await ctx.sched.schedule(spec('keep', { schedule: '@every 10s', data: { k: 1 } }))
  await advance(ctx, 10_000)
  assert.is(ctx.calls.length, 1)
  await ctx.sched.close()
  ctx.clock.advance(55_000) // "down" for 55 s: five due times missed
  await make(ctx)
  await advance(ctx, 0)
  assert.equal(ctx.calls.map((c) => c.now - T0), [10_000, 65_000], 'missed triggers collapse into one at start')
  await advance(ctx, 10_000, 1000)
  assert.equal(ctx.calls.map((c) => c.now - T0), [10_000, 65_000, 75_000], 'then the schedule resumes from now')
})

test('jobs - a trigger taken but not acknowledged before a stop is delivered again at start', async (ctx) => {
  await ctx.sched.close()
  let release!: () => void
  ctx.sched = await JobScheduler.create({
    namespace: ctx.store.namespace('jobs'), clock: ctx.clock,
    deliver: async () => { await new Promise<void>((resolve) => { release = resolve }) },
  })
  ctx.sched.start()
  await ctx.sched.schedule(spec('inflight', { dueTime: '1s', data: 'x' }))
  ctx.clock.advance(1000)
  for (let i = 0; i < 20 && release === undefined; i++) await new Promise((resolve) => setImmediate(resolve))
  const stored = await ctx.store.namespace('jobs').get('app1||inflight') as { pending?: { at: number } }
  assert.is(stored.pending?.at, T0 + 1000, 'pending is durable before the app is called')
  await ctx.sched.close() // the "crash": the delivery never finished
  release()
  await make(ctx)
  await advance(ctx, 0)
  assert.equal(ctx.calls.map((c) => [c.name, c.dueAt - T0, c.data]), [['inflight', 1000, 'x']])
  assert.is(ctx.sched.get('app1', 'inflight'), undefined)
})

test('jobs - a job whose ttl passed while down is deleted without firing', async (ctx) => {
  await ctx.sched.schedule(spec('short', { schedule: '@every 10s', ttl: '25s' }))
  await ctx.sched.close()
  ctx.clock.advance(60_000)
  await make(ctx)
  await advance(ctx, 0)
  assert.is(ctx.calls.length, 0)
  assert.is(ctx.sched.get('app1', 'short'), undefined)
  assert.is(ctx.sched.counters().expired, 1)
})

test('jobs - maxJobs bounds the store', async (ctx) => {
  await ctx.sched.close()
  ctx.sched = await JobScheduler.create({ namespace: ctx.store.namespace('jobs'), clock: ctx.clock, maxJobs: 2, deliver: async () => {} })
  await ctx.sched.schedule(spec('a', { dueTime: '1h' }))
  await ctx.sched.schedule(spec('b', { dueTime: '1h' }))
  try { await ctx.sched.schedule(spec('c', { dueTime: '1h' })); assert.unreachable() } catch (err) { assert.ok(isMechaError(err, 'ERR_SCHEDULE_JOB')) }
  await ctx.sched.schedule(spec('a', { dueTime: '2h', overwrite: true }))
})

test('jobs - far-future jobs do not overflow the timer', async (ctx) => {
  await ctx.sched.schedule(spec('far', { dueTime: '2026-01-01T00:00:00Z' }))
  await advance(ctx, 30 * 86_400_000, 86_400_000)
  assert.is(ctx.calls.length, 0)
})

test('jobs - the app callback is POST /job/{name} with the data as JSON', () => {
  const req = jobCallbackRequest({ appId: 'a', name: 'my job/1', data: { v: 1 }, dataJson: '{"v":1}', dueAt: 0, attempt: 0 })
  assert.equal(req, { method: 'POST', path: '/job/my%20job%2F1', headers: { 'content-type': 'application/json' }, body: '{"v":1}' })
})

test('jobs - maxConcurrent bounds deliveries in flight; the rest wait their turn', async (ctx) => {
  await ctx.sched.close()
  const releases: Array<() => void> = []
  const names: string[] = []
  ctx.sched = await JobScheduler.create({
    namespace: ctx.store.namespace('jobs'), clock: ctx.clock, maxConcurrent: 1,
    deliver: async (job) => { names.push(job.name); await new Promise<void>((resolve) => { releases.push(resolve) }) },
  })
  ctx.sched.start()
  await ctx.sched.schedule(spec('a', { dueTime: '1s' }))
  await ctx.sched.schedule(spec('b', { dueTime: '1s' }))
  ctx.clock.advance(1000)
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(names, ['a'])
  releases.shift()!()
  for (let i = 0; i < 50 && names.length < 2; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(names, ['a', 'b'])
  releases.shift()!()
  await advance(ctx, 0)
  assert.is(ctx.sched.size, 0)
})

test('jobs - a store that fails is retried each second, not in a hot loop, and nothing is delivered unrecorded', async (ctx) => {
  await ctx.sched.schedule(spec('disk', { dueTime: '1s' }))
  const ns = ctx.store.namespace('jobs')
  const put = ns.put.bind(ns)
  let puts = 0
  ns.put = async () => { puts++; throw new Error('disk full') }
  await advance(ctx, 1000)
  assert.is(ctx.calls.length, 0, 'not delivered: the trigger could not be recorded first')
  const first = puts
  assert.ok(first >= 1 && first <= 2, `puts ${first}`)
  await advance(ctx, 3000, 1000)
  assert.ok(puts - first <= 4, `retried ${puts - first} times in 3 s`)
  ns.put = put
  await advance(ctx, 1000)
  assert.is(ctx.calls.length, 1)
})

test.run()
