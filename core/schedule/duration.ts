/**
 * Go duration strings (pkg.go.dev/time#ParseDuration), as Dapr's cron binding (`@every 15s`) and Jobs API
 * (`dueTime: "30s"`, `ttl: "1h"`, `schedule: "2h45m"`) accept them: a possibly signed sequence of decimal
 * numbers, each with an optional fraction and a unit: `ns`, `us` (`µs`, `μs`), `ms`, `s`, `m`, `h`.
 * Results are milliseconds (fractions kept; the runtime's clock has millisecond resolution).
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
}

const PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/

/** Milliseconds, or a problem message. `"0"` is valid (as in Go); every other number needs a unit. */
export function parseGoDuration (input: string): { ms: number } | { problem: string } {
  if (typeof input !== 'string' || input === '') return { problem: 'a duration must be a non-empty string like "15s" or "1h30m"' }
  let s = input
  let sign = 1
  if (s[0] === '-' || s[0] === '+') { sign = s[0] === '-' ? -1 : 1; s = s.slice(1) }
  if (s === '0') return { ms: 0 }
  if (s === '') return { problem: `invalid duration "${input}"` }
  let total = 0
  while (s !== '') {
    const m = PART.exec(s)
    if (m === null || (m[1] === '' && (m[2] ?? '') === '')) {
      return { problem: `invalid duration "${input}": expected numbers with units ns, us, ms, s, m or h (e.g. "1h30m", "500ms")` }
    }
    const value = Number(`${m[1] === '' ? '0' : m[1]}.${m[2] ?? ''}`.replace(/\.$/, ''))
    total += value * UNIT_MS[m[3]]!
    s = s.slice(m[0].length)
  }
  if (!Number.isFinite(total) || total > 9.2e12) return { problem: `duration "${input}" is out of range` }
  return { ms: sign * total }
}

/** Like parseGoDuration, but throws a TypeError-free `Error` with the problem (for callers that collect messages). */
export function goDurationMs (input: string): number {
  const r = parseGoDuration(input)
  if ('problem' in r) throw new Error(r.problem)
  return r.ms
}

/** A Go-style duration string for milliseconds (`1h30m0s`, `500ms`), for messages and logs. */
export function formatDuration (ms: number): string {
  if (ms === 0) return '0s'
  const sign = ms < 0 ? '-' : ''
  let rest = Math.abs(ms)
  if (rest < 1000) return `${sign}${rest}ms`
  const h = Math.floor(rest / 3_600_000); rest -= h * 3_600_000
  const m = Math.floor(rest / 60_000); rest -= m * 60_000
  const s = rest / 1000
  return `${sign}${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`
}
