import { obj } from './schema-parts.ts'
import { SECTIONS } from './sections/index.ts'

export { LOG_LEVELS } from './sections/index.ts'

/**
 * The one schema of mecha.yaml (ajv, draft-07), assembled from its sections (sections/): each section holds
 * its part of the schema and its cross-key checks. Defaults live in the schema and only there (DESIGN.md
 * "Defaults"); `additionalProperties: false` everywhere so a typo is an error, not a silently ignored key.
 */
export const configSchema = obj(Object.fromEntries(SECTIONS.map((s) => [s.key, s.schema])), { default: {} })
