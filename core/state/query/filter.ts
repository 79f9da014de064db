/** Evaluates a parsed query filter against one stored value. */
import { compareValues, equalValues, MISSING, valueAt } from './compare.ts'
import type { Filter } from './parse.ts'

export function matches (filter: Filter | undefined, value: unknown): boolean {
  if (filter === undefined) return true
  switch (filter.op) {
    case 'AND': return filter.filters.every((f) => matches(f, value))
    case 'OR': return filter.filters.some((f) => matches(f, value))
    case 'IN': {
      const v = valueAt(value, filter.path)
      return v !== MISSING && filter.values.some((x) => equalValues(v, x))
    }
    case 'EQ': return equalValues(valueAt(value, filter.path), filter.value)
    case 'NEQ': {
      const v = valueAt(value, filter.path)
      return v !== MISSING && !equalValues(v, filter.value)
    }
    default: {
      const v = valueAt(value, filter.path)
      // Range operators compare like with like only: 3 is not "greater than" "abc".
      if (v === MISSING || typeof v !== typeof filter.value || v === null || filter.value === null) return false
      const c = compareValues(v, filter.value)
      return filter.op === 'GT' ? c > 0 : filter.op === 'GTE' ? c >= 0 : filter.op === 'LT' ? c < 0 : c <= 0
    }
  }
}
