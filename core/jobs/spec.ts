/**
 * Validation of a Jobs API request (docs.dapr.io/reference/api/jobs_api) and the record it becomes. Shared by
 * the HTTP route and any other transport (CONVENTIONS 14): every problem is an ERR_MALFORMED_JOB with a
 * sentence that names the field.
 */
import { MechaError } from '../errors.ts'
import { parseGoDuration, parseTimePoint, tryParseSchedule, type Schedule } from '../schedule/index.ts'
import type { FailurePolicy, JobRecord, JobSpec, JobView } from './types.ts'

/** Dapr retries a failed trigger 3 times by default; Mecha spaces them 1 s, 2 s, 4 s (an app that is restarting
 *  gets time) instead of Dapr's constant 1 s. */
export const DEFAULT_FAILURE_POLICY: FailurePolicy = Object.freeze({ type: 'backoff', initialMs: 1000, maxMs: 60_000, maxRetries: 3 })
/** A `constant` policy without an interval retries "immediately" in Dapr; here never faster than this. */
export const MIN_RETRY_INTERVAL_MS = 100
export const MAX_NAME_LENGTH = 512

const KNOWN = new Set(['schedule', 'dueTime', 'repeats', 'ttl', 'data', 'overwrite', 'failure_policy', 'failurePolicy', 'name'])

function malformed (message: string): MechaError { return new MechaError('ERR_MALFORMED_JOB', message) }

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A job name: non-empty, at most 512 characters, no control characters (it becomes the callback path `/job/{name}`). */
export function checkJobName (name: unknown): string {
  if (typeof name !== 'string' || name === '') throw malformed('the job name is empty')
  if (name.length > MAX_NAME_LENGTH) throw malformed(`the job name is longer than ${MAX_NAME_LENGTH} characters`)
  if (/[\u0000-\u001f\u007f]/.test(name)) throw malformed('the job name contains control characters')
  return name
}

function failurePolicy (v: unknown): FailurePolicy | undefined {
  if (v === undefined || v === null) return undefined
  if (!isObject(v)) throw malformed('failure_policy must be an object: {"constant": {...}} or {"drop": {}}')
  if ('drop' in v && !('constant' in v)) return { type: 'drop' }
  if ('constant' in v && !('drop' in v)) {
    const c = v.constant ?? {}
    if (!isObject(c)) throw malformed('failure_policy.constant must be an object')
    let intervalMs = 0
    if (c.interval !== undefined && c.interval !== null) {
      const d = typeof c.interval === 'string' ? parseGoDuration(c.interval) : { problem: 'must be a duration string' }
      if ('problem' in d) throw malformed(`failure_policy.constant.interval: ${d.problem}`)
      if (d.ms < 0) throw malformed('failure_policy.constant.interval must not be negative')
      intervalMs = d.ms
    }
    const raw = c.max_retries ?? c.maxRetries
    let maxRetries: number | null = null
    if (raw !== undefined && raw !== null) {
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) throw malformed('failure_policy.constant.max_retries must be a non-negative integer')
      maxRetries = raw
    }
    return { type: 'constant', intervalMs: Math.max(MIN_RETRY_INTERVAL_MS, intervalMs), maxRetries }
  }
  throw malformed('failure_policy must have exactly one of "constant" or "drop"')
}

/**
 * The job a request asks for. `body` is the parsed JSON request body; `name` comes from the URL (Dapr rejects
 * a name in the body that differs from it).
 */
export function jobSpecFromRequest (appId: string, name: unknown, body: unknown): JobSpec {
  const jobName = checkJobName(name)
  if (body === undefined || body === null) body = {}
  if (!isObject(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be a JSON object')
  for (const k of Object.keys(body)) if (!KNOWN.has(k)) throw malformed(`unknown field "${k}" (known: schedule, dueTime, repeats, ttl, data, overwrite, failure_policy)`)
  if (body.name !== undefined && body.name !== jobName) throw malformed('the job name may only be set in the URL')
  const str = (k: 'schedule' | 'dueTime' | 'ttl'): string | undefined => {
    const v = body[k]
    if (v === undefined || v === null || v === '') return undefined
    if (typeof v !== 'string') throw malformed(`${k} must be a string`)
    return v
  }
  const spec: JobSpec = { appId, name: jobName }
  const schedule = str('schedule'); if (schedule !== undefined) spec.schedule = schedule
  const dueTime = str('dueTime'); if (dueTime !== undefined) spec.dueTime = dueTime
  const ttl = str('ttl'); if (ttl !== undefined) spec.ttl = ttl
  if (spec.schedule === undefined && spec.dueTime === undefined) throw malformed('a job needs a schedule or a dueTime (or both)')
  // Syntax now, so a bad request fails before it reaches the store (times are resolved at scheduling).
  if (spec.schedule !== undefined) jobSchedule(spec.schedule)
  for (const k of ['dueTime', 'ttl'] as const) {
    const v = spec[k]
    if (v === undefined) continue
    const p = parseTimePoint(k, v, 0)
    if ('problem' in p) throw malformed(p.problem)
  }
  if (body.repeats !== undefined && body.repeats !== null) {
    const r = body.repeats
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r > 0xffffffff) throw malformed('repeats must be a non-negative integer')
    // 0 is protobuf's "unset" (an SDK that always sends the field sends 0): it repeats until ttl, as unset does.
    if (r > 0) spec.repeats = r
  }
  if (body.data !== undefined) spec.data = body.data
  if (body.overwrite !== undefined && body.overwrite !== null) {
    if (typeof body.overwrite !== 'boolean') throw malformed('overwrite must be a boolean')
    spec.overwrite = body.overwrite
  }
  const fp = failurePolicy(body.failure_policy ?? body.failurePolicy)
  if (fp !== undefined) spec.failurePolicy = fp
  return spec
}

/** The parsed schedule of a job (plain Go durations are intervals here, as in Dapr's Jobs API). */
export function jobSchedule (expression: string): Schedule {
  const s = tryParseSchedule(expression, { bareDuration: true })
  if ('problem' in s) throw malformed(s.problem)
  return s
}

/**
 * The first stored form of a job created at `now`: its first fire time is `dueTime` when given, else the
 * schedule's first time after creation; `ttl` sets the time after which it never fires.
 */
export function newJobRecord (spec: JobSpec, now: number, generation: number): JobRecord {
  const schedule = spec.schedule !== undefined ? jobSchedule(spec.schedule) : undefined
  let first: number
  if (spec.dueTime !== undefined) {
    const p = parseTimePoint('dueTime', spec.dueTime, now)
    if ('problem' in p) throw malformed(p.problem)
    first = p.at
  } else {
    first = schedule!.next(now)
  }
  let expiresAt: number | undefined
  if (spec.ttl !== undefined) {
    const p = parseTimePoint('ttl', spec.ttl, now)
    if ('problem' in p) throw malformed(p.problem)
    expiresAt = p.at
    if (expiresAt <= first) throw malformed(`ttl "${spec.ttl}" ends before the job's first fire time ${new Date(first).toISOString()}`)
  }
  const dataJson = spec.data === undefined ? '' : JSON.stringify(spec.data)
  const rec: JobRecord = { appId: spec.appId, name: spec.name, dataJson, createdAt: now, nextAt: first, fired: 0, generation }
  if (spec.schedule !== undefined) rec.schedule = spec.schedule
  if (spec.dueTime !== undefined) rec.dueTime = spec.dueTime
  if (spec.repeats !== undefined) rec.repeats = spec.repeats
  if (spec.ttl !== undefined) rec.ttl = spec.ttl
  if (expiresAt !== undefined) rec.expiresAt = expiresAt
  if (spec.failurePolicy !== undefined) rec.failurePolicy = spec.failurePolicy
  return rec
}

/**
 * The fire time after a trigger due at `at`, handled at `now`: the schedule's next time after `at`, or — when
 * that is already past (the runtime was down, or a delivery took long) — its next time after `now`, so missed
 * triggers collapse into the one being delivered. Undefined when the job is done (repeats used, ttl reached,
 * or a one-shot job).
 */
export function nextFireTime (rec: JobRecord, at: number, now: number, firedAfter: number): number | undefined {
  if (rec.repeats !== undefined && firedAfter >= rec.repeats) return undefined
  if (rec.schedule === undefined) return undefined
  const schedule = jobSchedule(rec.schedule)
  let next = schedule.next(at)
  if (next <= now) next = schedule.next(now)
  if (rec.expiresAt !== undefined && next >= rec.expiresAt) return undefined
  return next
}

/** The delay before retry number `failures` (1-based), or undefined when the policy gives up. */
export function retryDelay (policy: FailurePolicy | undefined, failures: number): number | undefined {
  const p = policy ?? DEFAULT_FAILURE_POLICY
  switch (p.type) {
    case 'drop': return undefined
    case 'constant': return p.maxRetries !== null && failures > p.maxRetries ? undefined : p.intervalMs
    case 'backoff': return failures > p.maxRetries ? undefined : Math.min(p.maxMs, p.initialMs * 2 ** (failures - 1))
  }
}

/** Dapr's GET shape. */
export function jobView (rec: JobRecord): JobView {
  const v: JobView = { name: rec.name }
  if (rec.schedule !== undefined) v.schedule = rec.schedule
  if (rec.dueTime !== undefined) v.dueTime = rec.dueTime
  if (rec.repeats !== undefined) v.repeats = rec.repeats
  if (rec.ttl !== undefined) v.ttl = rec.ttl
  if (rec.dataJson !== '') v.data = JSON.parse(rec.dataJson)
  return v
}
