import { cloudProblems, cloudSchema } from '../cloud-schema.ts'
import type { ConfigProblem } from '../types.ts'
import type { ConfigSection } from './section.ts'

/** The cloud link (absent = none): its own cross-key checks (cloud-schema.ts), and the state store it syncs. */
export const cloudSection: ConfigSection = {
  key: 'cloud',
  schema: cloudSchema,
  problems (c, ctx) {
    if (c.cloud === undefined) return []
    const problems: ConfigProblem[] = [...cloudProblems(c.cloud)]
    const store = c.cloud.stateSync?.store
    if (typeof store === 'string' && !ctx.stateStores.has(store)) problems.push({ path: 'cloud.stateSync.store', message: `no state store "${store}" (known: ${[...ctx.stateStores].join(', ')})` })
    return problems
  },
}
