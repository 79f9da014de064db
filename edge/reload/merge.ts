import type { ConfigProblem, MechaConfig } from '../../core/config/index.ts'
import type { HotPart } from './diff.ts'

/** What a hot reload did. */
export interface ReloadResult {
  /** A line per change (`app thermo removed`, `cloud link changed` …). */
  changes: string[]
  /** Changed settings that only a restart applies (not applied now). */
  restartRequired: string[]
  parts: HotPart[]
  ms: number
}

export type ReloadOutcome = { ok: true; result: ReloadResult } | { ok: false; problems: ConfigProblem[] }

/** `next`, with the settings bound at start kept as they are in `prev`. */
export function mergeRestartBound (prev: MechaConfig, next: MechaConfig, paths: readonly string[]): MechaConfig {
  if (paths.length === 0) return next
  const out: any = structuredClone(next)
  for (const path of paths) {
    const keys = path.split('.')
    let src: any = prev; let dst: any = out
    for (const k of keys.slice(0, -1)) { src = src?.[k]; dst = dst[k] }
    const last = keys[keys.length - 1]
    if (src?.[last] === undefined) delete dst[last]
    else dst[last] = structuredClone(src[last])
  }
  return deepFreeze(out) as MechaConfig
}

function deepFreeze<T> (o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}

