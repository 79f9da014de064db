import { Ajv, type Options } from 'ajv'
import { cloudSchema } from './cloud-schema.ts'
import { configSchema } from './schema.ts'

/** The two validators every caller uses, by the key both the runtime compile and the build's standalone code give them. */
export const VALIDATORS = { validateConfig: 'mecha-config', validateCloud: 'mecha-cloud' } as const

/**
 * The one ajv set-up of the config schemas: `compiled-validators.ts` compiles it at run time from source, and the
 * build (build/config-validators.ts) turns the same instance into standalone code for the executable, so the
 * two can never be set up differently. `verbose` because the problem texts read `x-message` and the known keys
 * from `parentSchema`.
 */
export function configAjv (extra: Options = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, allowUnionTypes: true, verbose: true, ...extra })
  ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' })
  ajv.addSchema(configSchema, VALIDATORS.validateConfig)
  // The same `cloud:` schema the whole-file one embeds, compiled alone for a section handed over by itself.
  ajv.addSchema(cloudSchema, VALIDATORS.validateCloud)
  return ajv
}
