/**
 * Cron expressions as Dapr reads them (robfig/cron with `SecondOptional | … | Descriptor` in the cron binding;
 * the 6-field form in the Jobs API): seconds minutes hours day-of-month month day-of-week, the seconds field
 * optional, `* , - /` and `?`, month and weekday names. Quartz extensions (`L`, `W`, `#`) are not cron there,
 * so they are rejected here too. The date arithmetic (and time zones, DST) is cron-parser's, the library
 * node-schedule itself uses.
 */
import { createRequire } from 'node:module'

type CronParser = typeof import('cron-parser')
let parser: CronParser | undefined

/**
 * cron-parser (and luxon under it) loads on the first cron expression, not at start: the default config has
 * none, and both cost start-up time and heap (issue 16). Synchronous because schedules are parsed where configs
 * are checked. In the executable (one CommonJS bundle) `require` exists and esbuild bundles this literal call,
 * evaluating the module only when it runs; from source (ESM) there is no `require`, so createRequire loads it.
 */
function cronParser (): CronParser {
  parser ??= (typeof require === 'function' ? require('cron-parser') : createRequire(import.meta.url)('cron-parser')) as CronParser
  return parser
}

const MONTHS = new Set(['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'])
const DAYS = new Set(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])
const FIELD_NAMES = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week']
const NUMERIC = /^[\d*?,/-]+$/
const NAMED = /^[\da-z*?,/-]+$/i

/** The 6-field equivalents of the period descriptors (docs.dapr.io/reference/api/jobs_api, "Period string expressions"). */
export const DESCRIPTORS: Readonly<Record<string, string>> = Object.freeze({
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
})

export interface CronSpec {
  /** Always six fields (a 5-field expression gets seconds `0`). */
  fields: string
  timeZone: string | undefined
}

/** Checks the expression's shape field by field (cron-parser is lenient about missing fields); a problem or the 6 fields. */
export function normaliseCron (expr: string): { fields: string } | { problem: string } {
  const parts = expr.trim().split(/\s+/)
  if (parts.length !== 5 && parts.length !== 6) {
    return { problem: `expected 6 fields (second minute hour day-of-month month day-of-week) or 5 (without seconds), got ${parts.length}` }
  }
  const six = parts.length === 5 ? ['0', ...parts] : parts
  for (let i = 0; i < 6; i++) {
    const f = six[i]!
    const named = i === 4 || i === 5
    if (!(named ? NAMED : NUMERIC).test(f)) {
      return { problem: `the ${FIELD_NAMES[i]} field "${f}" has characters cron does not allow here (L, W, # are not supported)` }
    }
    if (named) {
      for (const word of f.toLowerCase().match(/[a-z]+/g) ?? []) {
        if (!(i === 4 ? MONTHS : DAYS).has(word)) return { problem: `the ${FIELD_NAMES[i]} field "${f}" has an unknown name "${word}"` }
      }
    }
  }
  // robfig treats `?` as `*` in any field.
  return { fields: six.map((f) => f.replace(/\?/g, '*')).join(' ') }
}

/** The first time strictly after `after` that matches, in the spec's zone (the system's when none). */
export function nextCron (spec: CronSpec, after: number): number {
  const it = cronParser().parseExpression(spec.fields, {
    currentDate: new Date(after),
    ...(spec.timeZone !== undefined ? { tz: spec.timeZone } : {}),
  })
  return it.next().getTime()
}

/** Validates the fields with cron-parser (ranges, steps) and that some time ever matches. */
export function cronProblem (spec: CronSpec): string | undefined {
  try {
    nextCron(spec, Date.UTC(2024, 0, 1))
    return undefined
  } catch (err) {
    return String((err as Error).message ?? err).replace(/^Error: /, '')
  }
}
