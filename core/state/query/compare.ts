/**
 * One total order over JSON values, for sorting and for GT/LT filters: missing < null < booleans < numbers <
 * strings < arrays and objects (by their JSON text). Mixed types thus sort predictably instead of throwing.
 */
import { isDeepStrictEqual } from 'node:util'

export const MISSING = Symbol('missing')

function rank (v: unknown): number {
  if (v === MISSING || v === undefined) return 0
  if (v === null) return 1
  switch (typeof v) {
    case 'boolean': return 2
    case 'number': return 3
    case 'string': return 4
    default: return 5
  }
}

export function compareValues (a: unknown, b: unknown): number {
  const ra = rank(a); const rb = rank(b)
  if (ra !== rb) return ra - rb
  switch (ra) {
    case 0: case 1: return 0
    case 2: return Number(a) - Number(b)
    case 3: return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0
    case 4: return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
    default: {
      const sa = JSON.stringify(a); const sb = JSON.stringify(b)
      return sa < sb ? -1 : sa > sb ? 1 : 0
    }
  }
}

export function equalValues (a: unknown, b: unknown): boolean {
  return a !== MISSING && isDeepStrictEqual(a, b)
}

/** The value at a dotted path inside a JSON value, or MISSING. */
export function valueAt (value: unknown, path: readonly string[]): unknown {
  let cur = value
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null || Buffer.isBuffer(cur) || !Object.hasOwn(cur, p)) return MISSING
    cur = (cur as Record<string, unknown>)[p]
  }
  return cur
}
