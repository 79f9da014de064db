import type { ComponentCatalog } from './dapr-schema.ts'
import { SECTIONS, appProblems, isLoopback, listenerClashes } from './sections/index.ts'
import type { ConfigProblem } from './types.ts'

export { appProblems, isLoopback }

/**
 * Checks across keys that a schema cannot express, each section's own (sections/), then listener clashes
 * between sections; `c` has passed the schema, defaults filled.
 */
export function semanticProblems (c: Record<string, any>, catalog?: ComponentCatalog): ConfigProblem[] {
  const stateStores = new Set(['statestore'])
  const pubsubs = new Set(['pubsub'])
  for (const doc of c.components ?? []) {
    const type = doc?.spec?.type
    if (type === 'state.level') stateStores.add(doc.metadata?.name)
    if (typeof type === 'string' && type.startsWith('pubsub.')) pubsubs.add(doc.metadata?.name)
  }
  const ctx = { catalog, stateStores, pubsubs }
  const problems: ConfigProblem[] = []
  for (const section of SECTIONS) problems.push(...(section.problems?.(c, ctx) ?? []))
  problems.push(...listenerClashes(c, SECTIONS))
  return problems
}
