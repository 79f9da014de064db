/**
 * Dapr's `schedule` syntax in one parser, for the cron binding (docs.dapr.io/reference/components-reference/
 * supported-bindings/cron) and the Jobs API (docs.dapr.io/reference/api/jobs_api):
 * - cron, 6 fields with seconds (`*\/15 * * * * *`) or 5 without (the cron binding parses with SecondOptional);
 * - `@every <Go duration>` (`@every 15s`, `@every 1h30m`);
 * - `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`), `@hourly`;
 * - a `CRON_TZ=Europe/Berlin ` (or `TZ=`) prefix for the zone of a cron or descriptor schedule;
 * - for jobs only (`bareDuration`), a plain Go duration as the interval (`2h45m`).
 * The result answers "when does it fire next after t" so callers run it on any Clock.
 */
import { MechaError } from '../errors.ts'
import { cronProblem, DESCRIPTORS, nextCron, normaliseCron, type CronSpec } from './cron.ts'
import { formatDuration, parseGoDuration } from './duration.ts'

export interface Schedule {
  /** The expression as given. */
  readonly expression: string
  readonly kind: 'cron' | 'every'
  /** The zone a cron schedule runs in; undefined = the system's local zone. */
  readonly timeZone: string | undefined
  /** The interval of an `every` schedule, in ms. */
  readonly intervalMs: number | undefined
  /** The first fire time strictly after `after` (epoch ms). An interval counts from `after`. */
  next(after: number): number
}

export interface ScheduleOptions {
  /** Accept a plain Go duration (`2h45m`) as an interval, as the Jobs API does; the cron binding does not.
   *  @default false */
  bareDuration?: boolean
  /** Round `@every` down to whole seconds, at least 1 s, as robfig/cron (the cron binding) does.
   *  @default false */
  wholeSeconds?: boolean
  /** The zone of a cron schedule without a `CRON_TZ=` prefix. @default the system's local zone */
  timeZone?: string
}

const TZ_PREFIX = /^(?:CRON_TZ|TZ)=(\S*)(?:\s+|$)/

function zoneProblem (tz: string): string | undefined {
  if (tz === '') return 'the CRON_TZ= prefix names no time zone'
  try { new Intl.DateTimeFormat('en-US', { timeZone: tz }); return undefined } catch {
    return `unknown time zone "${tz}" (use an IANA name such as Europe/Berlin or UTC)`
  }
}

class EverySchedule implements Schedule {
  readonly kind = 'every' as const
  readonly timeZone = undefined
  constructor (readonly expression: string, readonly intervalMs: number) {}
  next (after: number): number { return after + this.intervalMs }
}

class CronSchedule implements Schedule {
  readonly kind = 'cron' as const
  readonly intervalMs = undefined
  readonly #spec: CronSpec
  constructor (readonly expression: string, spec: CronSpec) { this.#spec = spec }
  get timeZone (): string | undefined { return this.#spec.timeZone }
  next (after: number): number { return nextCron(this.#spec, after) }
}

function every (expression: string, text: string, o: ScheduleOptions): Schedule | string {
  const d = parseGoDuration(text)
  if ('problem' in d) return d.problem
  let ms = d.ms
  if (o.wholeSeconds === true) ms = Math.max(1000, Math.floor(ms / 1000) * 1000)
  if (ms <= 0) return `the interval must be positive, got ${formatDuration(ms)}`
  return new EverySchedule(expression, ms)
}

/** The schedule, or the problem with it as one sentence. */
export function tryParseSchedule (expression: unknown, o: ScheduleOptions = {}): Schedule | { problem: string } {
  const fail = (why: string): { problem: string } => ({ problem: `invalid schedule "${String(expression)}": ${why}` })
  if (typeof expression !== 'string' || expression.trim() === '') return { problem: 'the schedule must be a non-empty string' }
  let rest = expression.trim()
  let timeZone = o.timeZone
  const tz = TZ_PREFIX.exec(rest)
  if (tz !== null) {
    const zone = tz[1]!
    const p = zoneProblem(zone)
    if (p !== undefined) return fail(p)
    timeZone = zone
    rest = rest.slice(tz[0].length).trim()
    if (rest === '') return fail('nothing follows the time zone prefix')
  } else if (timeZone !== undefined) {
    const p = zoneProblem(timeZone)
    if (p !== undefined) return fail(p)
  }
  if (rest.startsWith('@every')) {
    const text = rest.slice('@every'.length).trim()
    if (text === '' || !/^@every\s/.test(rest)) return fail('@every needs a duration, e.g. "@every 15s" or "@every 1h30m"')
    const s = every(expression, text, o)
    return typeof s === 'string' ? fail(s) : s
  }
  if (rest.startsWith('@')) {
    const fields = DESCRIPTORS[rest.toLowerCase()]
    if (fields === undefined) return fail(`unknown descriptor ${rest} (known: @every <duration>, ${Object.keys(DESCRIPTORS).join(', ')})`)
    return new CronSchedule(expression, { fields, timeZone })
  }
  if (o.bareDuration === true && /^[+-]?[\d.]+[a-zµμ]/.test(rest) && !/\s/.test(rest)) {
    const s = every(expression, rest, o)
    return typeof s === 'string' ? fail(s) : s
  }
  const shape = normaliseCron(rest)
  if ('problem' in shape) return fail(shape.problem)
  const spec: CronSpec = { fields: shape.fields, timeZone }
  const p = cronProblem(spec)
  if (p !== undefined) return fail(p)
  return new CronSchedule(expression, spec)
}

/** The problem with a schedule, or undefined when it is valid (for config checks). */
export function scheduleProblem (expression: unknown, o: ScheduleOptions = {}): string | undefined {
  const r = tryParseSchedule(expression, o)
  return 'problem' in r ? r.problem : undefined
}

/** Parses a schedule; throws MECHA_ERR_SCHEDULE_INVALID with the problem. */
export function parseSchedule (expression: string, o: ScheduleOptions = {}): Schedule {
  const r = tryParseSchedule(expression, o)
  if ('problem' in r) throw new MechaError('MECHA_ERR_SCHEDULE_INVALID', r.problem)
  return r
}
