import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ManualClock } from '../../core/clock.ts'
import { createLogger } from '../../core/logger.ts'
import { isMechaError } from '../../core/errors.ts'
import type { BindingComponent, BindingEvent } from '../../core/bindings/types.ts'
import { BindingRegistry } from '../../core/bindings/registry.ts'
import { cronFactory, goUtcString, validateCron, CronBinding } from '../../devices/cron/index.ts'
import { validateCron as lightValidate } from '../../devices/cron/validate.ts'
import { bindingContract } from '../contracts/binding.contract.ts'

const log = createLogger({ level: 'silent' })
const T0 = Date.parse('2024-01-01T00:00:00.000Z')
const component = (metadata: Record<string, string>, name = 'tick'): BindingComponent => ({ name, type: 'bindings.cron', metadata })

bindingContract('bindings.cron', async () => ({
  binding: await cronFactory.create(component({ schedule: '@every 1h' }), { log, clock: new ManualClock(T0) }),
}))

const test = suite('bindings.cron')

test('cron binding - validate: schedule is required and checked, with its path', () => {
  assert.equal(validateCron(component({ schedule: '*/15 * * * * *' })), [])
  assert.equal(validateCron(component({ schedule: '@every 15m', direction: 'input' })), [])
  assert.equal(validateCron(component({})), [{ path: 'spec.metadata.schedule', message: 'is required' }])
  const bad = validateCron(component({ schedule: '* * *' }))
  assert.is(bad.length, 1)
  assert.is(bad[0]!.path, 'spec.metadata.schedule')
  assert.match(bad[0]!.message, 'invalid schedule "* * *": expected 6 fields')
  assert.is(validateCron(component({ schedule: '2h' }))[0]!.path, 'spec.metadata.schedule', 'a bare duration is a Jobs API form, not cron')
  assert.equal(validateCron(component({ schedule: '@daily', direction: 'output' })).map((p) => p.path), ['spec.metadata.direction'])
  assert.equal(validateCron(component({ schedule: '@daily', color: 'red' })).map((p) => p.path), ['spec.metadata.color'])
  assert.is(lightValidate, validateCron)
})

test('cron binding - the registry validates and creates it (as the runtime will)', async () => {
  const reg = new BindingRegistry({ 'bindings.cron': { validate: lightValidate, load: async () => cronFactory } })
  assert.equal(reg.validate(component({ schedule: '@every 1s' })), [])
  try { await reg.create(component({ schedule: 'nope' }), { log }); assert.unreachable() } catch (err) {
    assert.ok(isMechaError(err, 'MECHA_ERR_CONFIG_INVALID'))
    assert.match((err as Error).message, 'spec.metadata.schedule')
  }
  const b = await reg.create(component({ schedule: '@every 1s' }), { log, clock: new ManualClock(T0) })
  assert.ok(b instanceof CronBinding)
  assert.equal(b.manifest, { directions: ['input'], operations: [] })
  await b.close()
})

test('cron binding - fires on its schedule on the injected clock, never early, with Dapr\'s metadata', async () => {
  const clock = new ManualClock(T0 + 500)
  const b = await cronFactory.create(component({ schedule: 'CRON_TZ=UTC */15 * * * * *' }), { log, clock })
  const events: BindingEvent[] = []
  b.onEvent = (e) => { events.push(e) }
  await b.open()
  assert.is(b.status.current.type, 'open')
  clock.advance(14_499)
  assert.is(events.length, 0, 'not before 00:00:15')
  clock.advance(1)
  assert.is(events.length, 1)
  assert.equal(events[0], {
    value: '2024-01-01T00:00:15.000Z',
    at: T0 + 15_000,
    fields: { schedule: 'CRON_TZ=UTC */15 * * * * *', timeZone: 'UTC', readTimeUTC: '2024-01-01 00:00:15 +0000 UTC' },
  })
  clock.advance(45_000)
  assert.equal(events.map((e) => e.value), ['2024-01-01T00:00:15.000Z', '2024-01-01T00:00:30.000Z', '2024-01-01T00:00:45.000Z', '2024-01-01T00:01:00.000Z'])
  assert.is(b.counters().events, 4)
  assert.is(b.counters().lastEventAt, T0 + 60_000)
  await b.close()
  clock.advance(60_000)
  assert.is(events.length, 4, 'nothing after close')
})

test('cron binding - @every counts from open, in whole seconds', async () => {
  const clock = new ManualClock(T0 + 123)
  const b = await cronFactory.create(component({ schedule: '@every 1500ms' }), { log, clock })
  const at: number[] = []
  b.onEvent = (e) => { at.push(e.at - T0) }
  await b.open()
  clock.advance(3000)
  assert.equal(at, [1123, 2123, 3123], 'rounded down to 1 s, as robfig/cron does')
  await b.close()
})

test('cron binding - missed firings are not replayed (robfig/cron): a blocked loop gets one event, then the schedule', async () => {
  // A clock whose time jumps while its one timer waits, as when the event loop was blocked for 100 s.
  let now = T0
  let pending: (() => void) | undefined
  const clock = { now: () => now, setTimeout: (fn: () => void) => { pending = fn; return 1 }, clearTimeout: () => { pending = undefined } }
  const b = await cronFactory.create(component({ schedule: '@every 10s' }), { log, clock }) as CronBinding
  const values: unknown[] = []
  b.onEvent = (e) => { values.push(e.value) }
  await b.open()
  now = T0 + 5000
  pending!()
  assert.is(values.length, 0, 'an early timer only re-arms')
  now = T0 + 100_000
  pending!()
  assert.equal(values, ['2024-01-01T00:00:10.000Z'])
  assert.is(b.nextAt, T0 + 110_000)
  await b.close()
})

test('cron binding - goUtcString matches Go time.String() in UTC', () => {
  assert.is(goUtcString(Date.parse('2024-01-01T00:00:15Z')), '2024-01-01 00:00:15 +0000 UTC')
  assert.is(goUtcString(Date.parse('2024-01-01T00:00:15.250Z')), '2024-01-01 00:00:15.25 +0000 UTC')
})

test('cron binding - @every 1s on the real clock fires about once a second', async () => {
  const b = await cronFactory.create(component({ schedule: '@every 1s' }), { log })
  const at: number[] = []
  b.onEvent = (e) => { at.push(e.at) }
  const opened = Date.now()
  await b.open()
  const deadline = Date.now() + 5000
  while (at.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  await b.close()
  assert.ok(at.length >= 2, `fired ${at.length} times in 5 s`)
  assert.ok(at[0]! - opened >= 1000, 'never before its time')
  assert.ok(at[0]! - opened < 1600, `first at +${at[0]! - opened} ms`)
  assert.ok(Math.abs(at[1]! - at[0]! - 1000) < 400, `interval ${at[1]! - at[0]!} ms`)
})

test.run()
