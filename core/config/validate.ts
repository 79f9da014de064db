import { Ajv, type ErrorObject } from 'ajv'
import { configSchema } from './schema.ts'
import type { ConfigProblem } from './types.ts'

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, allowUnionTypes: true, verbose: true })
ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' })
const validateSchema = ajv.compile(configSchema)

/** `/mqtt/users/0/password` → `mqtt.users[0].password` */
export function dotted (pointer: string): string {
  let out = ''
  for (const part of pointer.split('/').slice(1)) {
    const p = part.replace(/~1/g, '/').replace(/~0/g, '~')
    out += /^\d+$/.test(p) ? `[${p}]` : (out === '' ? p : `.${p}`)
  }
  return out
}

function describe (err: ErrorObject): ConfigProblem {
  let path = dotted(err.instancePath)
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
  if (validateSchema(data)) return []
  const seen = new Set<string>()
  const problems: ConfigProblem[] = []
  for (const err of validateSchema.errors ?? []) {
    // `if/then` and `oneOf` wrappers repeat their inner errors; the inner ones are the useful ones.
    if (err.keyword === 'if' || err.keyword === 'oneOf' || err.keyword === 'anyOf') continue
    const p = describe(err)
    const key = `${p.path}\u0000${p.message}`
    if (seen.has(key) || [...seen].some((k) => k.startsWith(p.path + '\u0000') && p.message.startsWith('must'))) continue
    seen.add(key)
    problems.push(p)
  }
  return problems
}
