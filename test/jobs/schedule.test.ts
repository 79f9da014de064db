import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseGoDuration, parseSchedule, parseTimePoint, scheduleProblem, tryParseSchedule } from '../../core/schedule/index.ts'
import { isMechaError } from '../../core/errors.ts'

const T0 = Date.parse('2024-01-01T00:00:14.500Z') // a Monday
const iso = (ms: number): string => new Date(ms).toISOString()
const nexts = (expr: string, n = 2, from = T0, o = {}): string[] => {
  const s = parseSchedule(expr, { timeZone: 'UTC', ...o })
  const out: string[] = []
  for (let t = from, i = 0; i < n; i++) { t = s.next(t); out.push(iso(t)) }
  return out
}

test('schedule - 6-field cron with seconds', () => {
  assert.equal(nexts('*/15 * * * * *'), ['2024-01-01T00:00:15.000Z', '2024-01-01T00:00:30.000Z'])
  assert.equal(nexts('0 30 * * * *'), ['2024-01-01T00:30:00.000Z', '2024-01-01T01:30:00.000Z'])
  assert.equal(nexts('0 30 3-6,20-23 * * *', 3), ['2024-01-01T03:30:00.000Z', '2024-01-01T04:30:00.000Z', '2024-01-01T05:30:00.000Z'])
  assert.equal(nexts('0 0 0 ? * MON'), ['2024-01-08T00:00:00.000Z', '2024-01-15T00:00:00.000Z'])
  assert.equal(nexts('0 0 0 1 jan *', 1), ['2025-01-01T00:00:00.000Z'])
  assert.is(parseSchedule('*/15 * * * * *').kind, 'cron')
})

test('schedule - next is strictly after t', () => {
  const s = parseSchedule('*/15 * * * * *', { timeZone: 'UTC' })
  assert.is(iso(s.next(Date.parse('2024-01-01T00:00:15.000Z'))), '2024-01-01T00:00:30.000Z')
  assert.is(iso(s.next(Date.parse('2024-01-01T00:00:14.999Z'))), '2024-01-01T00:00:15.000Z')
})

test('schedule - 5-field cron (seconds optional, as the Dapr cron binding parses)', () => {
  assert.equal(nexts('30 * * * *'), ['2024-01-01T00:30:00.000Z', '2024-01-01T01:30:00.000Z'])
})

test('schedule - @every with Go durations', () => {
  assert.equal(nexts('@every 15s'), ['2024-01-01T00:00:29.500Z', '2024-01-01T00:00:44.500Z'])
  assert.equal(nexts('@every 1h30m', 1), ['2024-01-01T01:30:14.500Z'])
  assert.is(parseSchedule('@every 1.5h').intervalMs, 5_400_000)
  assert.is(parseSchedule('@every 500ms').intervalMs, 500)
  assert.is(parseSchedule('@every 2m3s').kind, 'every')
})

test('schedule - @every rounds to whole seconds for the cron binding (robfig/cron)', () => {
  assert.is(parseSchedule('@every 500ms', { wholeSeconds: true }).intervalMs, 1000)
  assert.is(parseSchedule('@every 2500ms', { wholeSeconds: true }).intervalMs, 2000)
})

test('schedule - descriptors', () => {
  assert.equal(nexts('@yearly', 1), ['2025-01-01T00:00:00.000Z'])
  assert.equal(nexts('@annually', 1), ['2025-01-01T00:00:00.000Z'])
  assert.equal(nexts('@monthly', 1), ['2024-02-01T00:00:00.000Z'])
  assert.equal(nexts('@weekly', 1), ['2024-01-07T00:00:00.000Z'])
  assert.equal(nexts('@daily', 1), ['2024-01-02T00:00:00.000Z'])
  assert.equal(nexts('@midnight', 1), ['2024-01-02T00:00:00.000Z'])
  assert.equal(nexts('@hourly', 2), ['2024-01-01T01:00:00.000Z', '2024-01-01T02:00:00.000Z'])
})

test('schedule - CRON_TZ= and TZ= prefixes set the zone', () => {
  // 04:30 in Berlin is 03:30 UTC in winter and 02:30 UTC in summer.
  assert.equal(nexts('CRON_TZ=Europe/Berlin 0 30 4 * * *', 1), ['2024-01-01T03:30:00.000Z'])
  assert.equal(nexts('CRON_TZ=Europe/Berlin 0 30 4 * * *', 1, Date.parse('2024-07-01T00:00:00Z')), ['2024-07-01T02:30:00.000Z'])
  assert.equal(nexts('CRON_TZ=America/New_York 0 30 04 * * *', 1), ['2024-01-01T09:30:00.000Z'])
  assert.equal(nexts('TZ=Asia/Tokyo @daily', 1), ['2024-01-01T15:00:00.000Z'])
  assert.is(parseSchedule('CRON_TZ=Europe/Berlin @hourly').timeZone, 'Europe/Berlin')
})

test('schedule - bare Go durations only where asked (Jobs API)', () => {
  assert.equal(nexts('2h45m', 1, T0, { bareDuration: true }), ['2024-01-01T02:45:14.500Z'])
  assert.match(scheduleProblem('2h45m')!, 'invalid schedule "2h45m"')
})

test('schedule - invalid expressions give a clear problem', () => {
  const cases: Array<[string, string]> = [
    ['', 'non-empty'],
    ['* * *', 'expected 6 fields'],
    ['1 2 3 4 5 6 7', 'got 7'],
    ['61 * * * * *', '61'],
    ['0 0 25 * * *', '25'],
    ['0 0 0 31 2 *', 'day of month'],
    ['0 0 0 L * *', 'L, W, #'],
    ['0 0 0 * * 1#2', 'L, W, #'],
    ['0 0 0 1 foo *', 'unknown name "foo"'],
    ['*/0 * * * * *', 'every 0'],
    ['@every', 'needs a duration'],
    ['@every 10', 'invalid duration'],
    ['@every -1s', 'positive'],
    ['@every 0s', 'positive'],
    ['@fortnightly', 'unknown descriptor'],
    ['CRON_TZ=Mars/Base * * * * * *', 'unknown time zone "Mars/Base"'],
    ['CRON_TZ=UTC', 'nothing follows'],
  ]
  for (const [expr, why] of cases) {
    const r = tryParseSchedule(expr)
    assert.ok('problem' in r, `${JSON.stringify(expr)} should be invalid`)
    assert.match((r as { problem: string }).problem, why, `${JSON.stringify(expr)}: ${(r as { problem: string }).problem}`)
  }
  try { parseSchedule('nope'); assert.unreachable() } catch (err) {
    assert.ok(isMechaError(err, 'MECHA_ERR_SCHEDULE_INVALID'))
    assert.match((err as Error).message, 'invalid schedule "nope"')
  }
})

test('schedule - Go durations', () => {
  const ms = (s: string): number => { const r = parseGoDuration(s); if ('problem' in r) throw new Error(r.problem); return r.ms }
  assert.is(ms('1h30m'), 5_400_000)
  assert.is(ms('1.5s'), 1500)
  assert.is(ms('.5s'), 500)
  assert.is(ms('300ms'), 300)
  assert.is(ms('1500us'), 1.5)
  assert.is(ms('1µs'), 0.001)
  assert.is(ms('2h45m10s'), 9_910_000)
  assert.is(ms('0'), 0)
  assert.is(ms('-1m'), -60_000)
  for (const bad of ['', '10', '1d', 'h', '1h 30m', '.s', 'abc']) assert.ok('problem' in parseGoDuration(bad), bad)
})

test('schedule - Jobs API time points: RFC3339, Go duration, ISO 8601 duration', () => {
  const created = Date.parse('2024-01-31T12:00:00Z')
  const at = (v: string): number => { const r = parseTimePoint('dueTime', v, created); if ('problem' in r) throw new Error(r.problem); return r.at }
  assert.is(iso(at('2025-12-09T16:09:53+00:00')), '2025-12-09T16:09:53.000Z')
  assert.is(iso(at('2025-12-09T18:09:53.250+02:00')), '2025-12-09T16:09:53.250Z')
  assert.is(iso(at('2025-12-09T16:09:53Z')), '2025-12-09T16:09:53.000Z')
  assert.is(iso(at('30s')), '2024-01-31T12:00:30.000Z')
  assert.is(iso(at('1h30m')), '2024-01-31T13:30:00.000Z')
  assert.is(iso(at('PT30S')), '2024-01-31T12:00:30.000Z')
  assert.is(iso(at('P1DT2H')), '2024-02-01T14:00:00.000Z')
  assert.is(iso(at('P1M')), '2024-03-02T12:00:00.000Z') // Jan 31 + 1 month rolls over, as Date does
  for (const bad of ['', 'tomorrow', '2025-02-30T00:00:00Z', '2025-12-09T16:09:53', '-5s', 'P', 'PT']) {
    const r = parseTimePoint('dueTime', bad, created)
    assert.ok('problem' in r, bad)
  }
  assert.match((parseTimePoint('ttl', 'soon', created) as { problem: string }).problem, 'ttl "soon" is neither')
})

test.run()
