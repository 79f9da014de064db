/**
 * The Jobs API's "point in time" strings (docs.dapr.io/reference/api/jobs_api: `dueTime` and `ttl`): an RFC3339
 * timestamp, a Go duration counted from the job's creation, or a non-repeating ISO 8601 duration (`PT30S`,
 * `P1DT2H`) counted the same way.
 */
import { parseGoDuration } from './duration.ts'

// RFC3339 (§5.6): full-date "T" full-time, with a required offset (Z or ±hh:mm); a space or lower-case t/z
// are allowed by its note, fractional seconds of any length.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
const ISO_DURATION = /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/

/** Milliseconds since the epoch of an RFC3339 timestamp, or undefined when it is not one (or not a real date). */
export function parseRfc3339 (s: string): number | undefined {
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, sec] = m.map(Number) as number[]
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || sec! > 60) return undefined
  const ms = Date.parse(s.replace(' ', 'T').toUpperCase())
  if (Number.isNaN(ms)) return undefined
  // Date.parse rolls 2024-02-31 over into March; RFC3339 says it is not a date.
  const probe = new Date(Date.UTC(y!, mo! - 1, d!))
  if (probe.getUTCDate() !== d) return undefined
  return ms
}

/** `from` plus an ISO 8601 duration (years and months on the calendar, in UTC), or undefined if it is not one. */
export function addIsoDuration (s: string, from: number): number | undefined {
  const m = ISO_DURATION.exec(s)
  if (m === null || s === 'P' || s.endsWith('T')) return undefined
  const [y, mo, w, d, h, mi, sec] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as number[]
  const date = new Date(from)
  if (y !== 0 || mo !== 0) {
    if (!Number.isInteger(y) || !Number.isInteger(mo)) return undefined
    date.setUTCFullYear(date.getUTCFullYear() + y!, date.getUTCMonth() + mo!)
  }
  return date.getTime() + ((w! * 7 + d!) * 86_400_000) + h! * 3_600_000 + mi! * 60_000 + sec! * 1000
}

/**
 * Resolves a Jobs API point-in-time string against `createdAt`: the epoch ms, or a problem message that names
 * the field (`dueTime`, `ttl`).
 */
export function parseTimePoint (field: string, value: unknown, createdAt: number): { at: number } | { problem: string } {
  if (typeof value !== 'string' || value.trim() === '') return { problem: `${field} must be a non-empty string` }
  const s = value.trim()
  const abs = parseRfc3339(s)
  if (abs !== undefined) return { at: abs }
  if (s.startsWith('P')) {
    const at = addIsoDuration(s, createdAt)
    if (at !== undefined) return { at }
  }
  const d = parseGoDuration(s)
  if ('ms' in d) {
    if (d.ms < 0) return { problem: `${field} "${s}" is a negative duration` }
    return { at: createdAt + d.ms }
  }
  return { problem: `${field} "${s}" is neither an RFC3339 time (2025-12-09T16:09:53Z), a Go duration (30s, 1h30m) nor an ISO 8601 duration (PT30S)` }
}
