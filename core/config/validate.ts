import type { ErrorObject, ValidateFunction } from 'ajv'
import { MechaError } from '../errors.ts'
import { cloudProblems, type CloudConfig, type CloudConfigInput } from './cloud-schema.ts'
// Compiled at run time from source, ahead of time in the executable (see there).
import { validateCloud, validateConfig } from './compiled-validators.ts'
import type { ConfigProblem } from './types.ts'

/** `/mqtt/users/0/password` → `mqtt.users[0].password` */
export function dotted (pointer: string): string {
  let out = ''
  for (const part of pointer.split('/').slice(1)) {
    const p = part.replace(/~1/g, '/').replace(/~0/g, '~')
    out += /^\d+$/.test(p) ? `[${p}]` : (out === '' ? p : `.${p}`)
  }
  return out
}

function describe (err: ErrorObject, prefix: string): ConfigProblem {
  let path = dotted(prefix + err.instancePath)
  const custom = (err.parentSchema as Record<string, unknown> | undefined)?.['x-message']
  let message: string
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = (err.params as { additionalProperty: string }).additionalProperty
      path = path === '' ? key : `${path}.${key}`
      const known = Object.keys((err.parentSchema as { properties?: object } | undefined)?.properties ?? {})
      message = `unknown key${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`
      break
    }
    case 'required': {
      const key = (err.params as { missingProperty: string }).missingProperty
      path = path === '' ? key : `${path}.${key}`
      message = 'is required'
      break
    }
    case 'enum':
      message = typeof custom === 'string' ? custom : `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
      break
    case 'type':
      message = typeof custom === 'string' ? custom : `must be ${withArticle(String((err.params as { type: string }).type))}`
      break
    default:
      message = typeof custom === 'string' ? custom : (err.message ?? 'is invalid')
  }
  return { path: path === '' ? '(root)' : path, message }
}

function withArticle (type: string): string {
  const t = type.replace(/,/g, ' or ')
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`
}

/**
 * Validates and fills defaults in place (the caller passes a private copy). Returns every problem; one
 * value breaking several keywords (type and range) is reported once.
 */
export function validateShape (data: unknown): ConfigProblem[] {
  return schemaProblems(validateConfig, data, '')
}

/**
 * Runs one compiled schema; `prefix` is the JSON pointer of `data` inside mecha.yaml ('' for the whole file).
 * Exported for the test that holds the build's standalone validators to the ones compiled from source.
 */
export function schemaProblems (validate: ValidateFunction, data: unknown, prefix: string): ConfigProblem[] {
  if (validate(data)) return []
  const seen = new Set<string>()
  const problems: ConfigProblem[] = []
  for (const err of validate.errors ?? []) {
    // `if/then` and `oneOf` wrappers repeat their inner errors; the inner ones are the useful ones.
    if (err.keyword === 'if' || err.keyword === 'oneOf' || err.keyword === 'anyOf') continue
    const p = describe(err, prefix)
    const key = `${p.path}\u0000${p.message}`
    if (seen.has(key) || [...seen].some((k) => k.startsWith(p.path + '\u0000') && p.message.startsWith('must'))) continue
    seen.add(key)
    problems.push(p)
  }
  return problems
}

/**
 * A `cloud:` section on its own (tests, benchmarks, a caller without a whole mecha.yaml) → the resolved, frozen
 * `CloudConfig`, through exactly the checks the loader runs on that section: the same schema and defaults, the
 * same cross-key checks (`cloudProblems`), the same problem paths. A section that came out of `parseConfig`
 * therefore passes unchanged. Throws MECHA_ERR_CONFIG_INVALID (details: problems); never mutates `input`.
 */
export function parseCloudConfig (input: CloudConfigInput | CloudConfig): CloudConfig {
  const copy: unknown = structuredClone(input)
  const problems = schemaProblems(validateCloud, copy, '/cloud')
  // As in the loader, cross-key checks run on a broken shape too, so every problem is listed at once.
  for (const p of cloudProblems(copy)) if (!problems.some((q) => q.path === p.path)) problems.push(p)
  if (problems.length > 0) {
    const text = problems.map((p) => `${p.path}: ${p.message}`).join('\n')
    throw new MechaError('MECHA_ERR_CONFIG_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the cloud config:\n${text}`, { details: problems })
  }
  return deepFreeze(copy as CloudConfig)
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value as object)) deepFreeze(v)
  }
  return value
}
