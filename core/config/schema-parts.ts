/** Small builders so the config schema reads like the table in DESIGN.md. `x-message` overrides ajv's text. */
export const port = (dflt: number): Record<string, unknown> => ({
  type: 'integer', minimum: 0, maximum: 65535, default: dflt, 'x-message': 'must be an integer 0-65535 (0 picks a free port)',
})
export const host = (dflt: string): Record<string, unknown> => ({
  type: 'string', minLength: 1, default: dflt, 'x-message': 'must be a host name or IP address',
})
export const int = (min: number, max: number, dflt?: number): Record<string, unknown> => ({
  type: 'integer', minimum: min, maximum: max, ...(dflt === undefined ? {} : { default: dflt }),
  'x-message': `must be an integer ${min}-${max}`,
})
export const str = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'string', ...extra })
export const bool = (dflt: boolean): Record<string, unknown> => ({ type: 'boolean', default: dflt })
export const oneOf = (values: readonly string[], dflt?: string): Record<string, unknown> => ({
  type: 'string', enum: values, ...(dflt === undefined ? {} : { default: dflt }),
})
export const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'object', additionalProperties: false, properties, ...extra,
})
