/**
 * Reading a binding component's metadata (Dapr's `[{name, value}]` list, flattened to strings) with every
 * problem collected and its path (`spec.metadata.<key>`) kept, so `mecha check` lists them all at once
 * (CONVENTIONS 4). Pure and light: type validators (devices/<type>/validate.ts) use it without loading drivers.
 */
import type { ConfigProblem } from '../config/types.ts'

/** Keys the binding host reads for every binding type (edge/bindings); never "unknown" for a type's validator. */
// Dapr's own `direction` (input/output) is not among them: bindings.gpio uses `direction: in|out` for the line.
export const HOST_METADATA_KEYS = ['eventsTopic', 'errorsTopic', 'commandsTopic', 'repliesTopic', 'route'] as const

export function metadataPath (key: string): string { return `spec.metadata.${key}` }

export class MetadataReader {
  readonly problems: ConfigProblem[] = []
  readonly #meta: Readonly<Record<string, string>>
  readonly #known = new Set<string>(HOST_METADATA_KEYS)

  constructor (meta: Readonly<Record<string, string>>) { this.#meta = meta }

  problem (key: string, message: string): void { this.problems.push({ path: metadataPath(key), message }) }

  has (key: string): boolean { this.#known.add(key); return this.#meta[key] !== undefined && this.#meta[key] !== '' }

  string (key: string, opts: { required?: boolean; default?: string } = {}): string | undefined {
    this.#known.add(key)
    const v = this.#meta[key]
    if (v === undefined || v === '') {
      if (opts.required === true) this.problem(key, 'is required')
      return opts.default
    }
    return v
  }

  number (key: string, opts: { min?: number; max?: number; integer?: boolean; default?: number; required?: boolean } = {}): number | undefined {
    const s = this.string(key, { required: opts.required })
    if (s === undefined) return opts.default
    const n = Number(s.trim())
    if (s.trim() === '' || !Number.isFinite(n)) { this.problem(key, `must be a number (got ${JSON.stringify(s)})`); return opts.default }
    if (opts.integer === true && !Number.isInteger(n)) { this.problem(key, `must be an integer (got ${s})`); return opts.default }
    if (opts.min !== undefined && n < opts.min) { this.problem(key, `must be ≥ ${opts.min} (got ${s})`); return opts.default }
    if (opts.max !== undefined && n > opts.max) { this.problem(key, `must be ≤ ${opts.max} (got ${s})`); return opts.default }
    return n
  }

  int (key: string, opts: { min?: number; max?: number; default?: number; required?: boolean } = {}): number | undefined {
    return this.number(key, { ...opts, integer: true })
  }

  bool (key: string, fallback: boolean): boolean {
    const s = this.string(key)
    if (s === undefined) return fallback
    if (/^(true|1|yes|on)$/i.test(s)) return true
    if (/^(false|0|no|off)$/i.test(s)) return false
    this.problem(key, `must be true or false (got ${JSON.stringify(s)})`)
    return fallback
  }

  oneOf<T extends string> (key: string, values: readonly T[], fallback: T): T
  oneOf<T extends string> (key: string, values: readonly T[], fallback?: undefined): T | undefined
  oneOf<T extends string> (key: string, values: readonly T[], fallback?: T): T | undefined {
    const s = this.string(key)
    if (s === undefined) return fallback
    if ((values as readonly string[]).includes(s)) return s as T
    this.problem(key, `must be one of ${values.join(', ')} (got ${JSON.stringify(s)})`)
    return fallback
  }

  /** Reports keys nobody read: unknown keys are errors (DESIGN: config). Call after every read. */
  finish (): ConfigProblem[] {
    for (const key of Object.keys(this.#meta)) {
      if (!this.#known.has(key)) this.problem(key, 'is not a known metadata key of this binding type')
    }
    return this.problems
  }
}

/** Problems with the host keys (topics must be MQTT topic names: no wildcards, not empty). */
export function hostMetadataProblems (meta: Readonly<Record<string, string>>): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  for (const key of ['eventsTopic', 'errorsTopic', 'commandsTopic', 'repliesTopic'] as const) {
    const v = meta[key]
    if (v === undefined) continue
    if (v === '' || /[+#\u0000]/.test(v)) problems.push({ path: metadataPath(key), message: `must be an MQTT topic name without wildcards (got ${JSON.stringify(v)})` })
  }
  const route = meta.route
  if (route !== undefined && !route.startsWith('/')) problems.push({ path: metadataPath('route'), message: 'must be a path starting with /' })
  return problems
}
