/**
 * `bindings.cron` metadata (docs.dapr.io/reference/components-reference/supported-bindings/cron): `schedule`
 * (required; 6-field cron with seconds, 5-field, `@every 15s`, `@daily` …, an optional `CRON_TZ=` prefix) and
 * `direction` (input only). Light: the schedule parser only, no timers.
 */
import type { ConfigProblem } from '../../core/config/types.ts'
import type { BindingComponent } from '../../core/bindings/types.ts'
import { MetadataReader } from '../../core/bindings/metadata.ts'
import { tryParseSchedule, type Schedule } from '../../core/schedule/index.ts'

export interface CronOptions {
  readonly schedule: Schedule
}

/** As robfig/cron, which Dapr's binding uses: `@every` in whole seconds, at least 1 s; no bare durations. */
export const CRON_BINDING_SCHEDULE = Object.freeze({ wholeSeconds: true, bareDuration: false })

export function parseCronMetadata (meta: Readonly<Record<string, string>>): { options: CronOptions | undefined; problems: ConfigProblem[] } {
  const r = new MetadataReader(meta)
  const text = r.string('schedule', { required: true })
  let schedule: Schedule | undefined
  if (text !== undefined) {
    const s = tryParseSchedule(text, CRON_BINDING_SCHEDULE)
    if ('problem' in s) r.problem('schedule', s.problem)
    else schedule = s
  }
  const direction = r.string('direction')
  if (direction !== undefined && /output/.test(direction)) r.problem('direction', 'bindings.cron is an input binding only (direction: input)')
  const problems = r.finish()
  return { options: schedule !== undefined && problems.length === 0 ? Object.freeze({ schedule }) : undefined, problems }
}

export function validateCron (component: BindingComponent): ConfigProblem[] {
  return parseCronMetadata(component.metadata).problems
}
