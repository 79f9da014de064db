import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Backoff, decorrelatedJitter, exponentialBackoff, fullJitter, noJitter, proportionalJitter } from '../../core/backoff.ts'
import { ManualClock } from '../../core/clock.ts'
import { parseConfig } from '../../core/config/index.ts'
import { SystemdNotifier } from '../../core/supervisor/index.ts'
import { dependencyLevels } from '../../core/supervisor/order.ts'

test('backoff - exponential with injectable jitter, capped, reset', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: noJitter })
  assert.equal([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000])
  assert.is(b.attempt, 5)
  b.reset()
  assert.is(b.next(), 100)
  const full = exponentialBackoff({ initialMs: 100, maxMs: 1000, jitter: fullJitter, random: () => 0.5 })
  assert.equal([full(1, 0), full(2, 0), full(3, 0), full(9, 0)], [100, 150, 250, 550])
  const prop = exponentialBackoff({ initialMs: 500, maxMs: 2000, multiplier: 1.5, jitter: proportionalJitter(0.5), random: () => 1 })
  assert.equal([prop(1, 0), prop(2, 0)], [750, 1125])
  const dec = new Backoff(exponentialBackoff({ initialMs: 100, maxMs: 10_000, jitter: decorrelatedJitter, random: () => 1 }))
  assert.equal([dec.next(), dec.next(), dec.next()], [100, 300, 900])
  // A plain delay function works too (tests, the cloud link's injected delay).
  const fixed = new Backoff((attempt, prev) => attempt * 10 + prev)
  assert.equal([fixed.next(), fixed.next()], [10, 30])
  assert.throws(() => exponentialBackoff({ initialMs: 10, maxMs: 5 }), TypeError)
  assert.throws(() => proportionalJitter(2), TypeError)
  let r = 0
  const spread = exponentialBackoff({ initialMs: 100, maxMs: 1000, random: () => r })
  for (r = 0; r <= 1; r += 0.1) { const d = spread(4, 0); assert.ok(d >= 100 && d <= 800, String(d)) }
})

async function problems (apps: unknown[]): Promise<Array<{ path: string; message: string }>> {
  try { await parseConfig({ apps }); return [] } catch (e) { return (e as { details: Array<{ path: string; message: string }> }).details }
}

test('supervisor config - app keys have their defaults; dependsOn cycles and unknown ids are errors with their path', async () => {
  const [app] = (await parseConfig({ apps: [{ id: 'a', command: 'x' }] })).config.apps
  assert.equal(app.dependsOn, [])
  assert.equal(app.backoff, { initialMs: 500, maxMs: 30_000, resetAfterMs: 30_000 })
  assert.equal(app.crashLoop, { failures: 5, windowMs: 60_000 })
  assert.equal(app.logs, { maxBytes: 1_048_576, files: 3 })
  assert.is(app.stopGraceMs, 3000)
  assert.is(app.health, undefined)
  const [h] = (await parseConfig({ apps: [{ id: 'a', command: 'x', appPort: 5000, health: {} }] })).config.apps
  assert.equal(h.health, { path: '/healthz', intervalMs: 5000, timeoutMs: 500, threshold: 3, restartAfter: 12 })

  const cycle = await problems([
    { id: 'a', command: 'x', dependsOn: ['b'] },
    { id: 'b', command: 'x', dependsOn: ['c'] },
    { id: 'c', command: 'x', dependsOn: ['a'] },
  ])
  assert.equal(cycle, [{ path: 'apps[2].dependsOn[0]', message: 'dependency cycle: a → b → c → a' }])
  assert.equal(await problems([{ id: 'a', command: 'x', dependsOn: ['ghost'] }]), [{ path: 'apps[0].dependsOn[0]', message: 'no app "ghost" (known: a)' }])
  assert.equal((await problems([{ id: 'a', command: 'x', dependsOn: ['a'] }]))[0].path, 'apps[0].dependsOn[0]')
  assert.equal((await problems([{ id: 'a', command: 'x', health: {} }]))[0], { path: 'apps[0].health', message: 'needs appPort: the probe is an HTTP GET on it' })
  assert.equal((await problems([{ id: 'a', command: 'x', backoff: { initialMs: 1000, maxMs: 10 } }]))[0].path, 'apps[0].backoff.maxMs')
  assert.ok((await problems([{ id: 'a', command: 'x', restart: 'sometimes' }])).some((p) => p.path === 'apps[0].restart'))
  assert.ok((await problems([{ id: 'a', command: 'x', crashLoop: { failures: 3, typo: 1 } }])).some((p) => p.path === 'apps[0].crashLoop.typo'))
})

test('supervisor order - dependency levels', () => {
  const levels = dependencyLevels([{ id: 'web', dependsOn: ['api'] }, { id: 'api', dependsOn: ['db'] }, { id: 'db', dependsOn: [] }, { id: 'm', dependsOn: ['db', 'web'] }])
  assert.equal(Object.fromEntries(levels), { web: 2, api: 1, db: 0, m: 3 })
  assert.ok(dependencyLevels([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }]).size === 2, 'a cycle does not loop')
})

test('watchdog - READY=1 at start, WATCHDOG=1 every half WATCHDOG_USEC, STOPPING=1 at stop (ManualClock)', async () => {
  const calls: string[][] = []
  const clock = new ManualClock()
  let well = true
  const n = await SystemdNotifier.create({
    env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(process.pid), PATH: '/nonexistent' },
    command: process.execPath, // any executable: the runner is injected
    run: async (_c, args) => { calls.push(args) }, clock, healthy: () => well,
  })
  assert.ok(n.enabled)
  assert.is(n.intervalMs, 10_000)
  await n.ready('serving')
  n.start()
  await new Promise((r) => setImmediate(r))
  clock.advance(10_000); await new Promise((r) => setImmediate(r))
  well = false
  clock.advance(10_000); await new Promise((r) => setImmediate(r))
  await n.stop()
  await n.stop()
  clock.advance(30_000)
  assert.equal(calls, [['READY=1', 'STATUS=serving'], ['WATCHDOG=1'], ['WATCHDOG=1'], ['STOPPING=1']])
})

test('watchdog - a no-op without NOTIFY_SOCKET, without systemd-notify, or when the watchdog is for another pid', async () => {
  const calls: string[][] = []
  const run = async (_c: string, args: string[]): Promise<void> => { calls.push(args) }
  const off = await SystemdNotifier.create({ env: { PATH: process.env.PATH }, run })
  assert.not.ok(off.enabled)
  await off.ready(); off.start(); await off.stop()
  const missing = await SystemdNotifier.create({ env: { NOTIFY_SOCKET: '/x', PATH: '/nonexistent' }, run })
  assert.not.ok(missing.enabled)
  await missing.ready()
  const other = await SystemdNotifier.create({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }, command: process.execPath, run })
  assert.ok(other.enabled)
  assert.is(other.intervalMs, undefined)
  assert.equal(calls, [])
})

test.run()
