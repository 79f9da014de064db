/**
 * Turns a `cloud:` section as written (tests, the composition root before the loader lands) into the resolved
 * `CloudConfig`, using the same schema and defaults as the config loader. The input is never mutated.
 */
import { Ajv } from 'ajv'
import { cloudSchema, type CloudConfig, type CloudConfigInput } from '../core/config/cloud-schema.ts'
import { MechaError } from '../core/errors.ts'

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' })
const validate = ajv.compile(cloudSchema)

export function resolveCloudConfig (input: CloudConfigInput | CloudConfig): CloudConfig {
  const copy = structuredClone(input) as Record<string, unknown>
  if (!validate(copy)) {
    const problems = (validate.errors ?? []).map((e) => ({ path: `cloud${e.instancePath.replaceAll('/', '.')}`, message: e.message ?? 'is invalid' }))
    throw new MechaError('MECHA_ERR_CONFIG_INVALID', `cloud config: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: problems })
  }
  const cfg = copy as unknown as CloudConfig
  if (cfg.backoff.maxMs < cfg.backoff.minMs) {
    throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'cloud.backoff.maxMs must be ≥ cloud.backoff.minMs', { details: [{ path: 'cloud.backoff.maxMs', message: 'must be ≥ minMs' }] })
  }
  if ((cfg.cert === undefined) !== (cfg.key === undefined)) {
    throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'cloud.cert and cloud.key go together', { details: [{ path: cfg.cert === undefined ? 'cloud.cert' : 'cloud.key', message: 'is required with the other' }] })
  }
  return deepFreeze(cfg)
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
