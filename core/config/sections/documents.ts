import { componentSchema, subscriptionSchema, BUILTIN_COMPONENT_TYPES } from '../dapr-schema.ts'
import { componentMetadata, type ConfigProblem } from '../types.ts'
import type { ConfigSection } from './section.ts'

/** Dapr Component documents: a type something implements, its own metadata checks, unique names. */
export const componentsSection: ConfigSection = {
  key: 'components',
  schema: { type: 'array', default: [], items: componentSchema },
  problems (c, ctx) {
    const problems: ConfigProblem[] = []
    const extra = ctx.catalog?.types() ?? []
    const known = [...BUILTIN_COMPONENT_TYPES, ...extra]
    const names = new Set<string>()
    c.components.forEach((doc: any, i: number) => {
      const type = doc.spec?.type
      if (typeof type === 'string' && !known.includes(type)) {
        problems.push({ path: `components[${i}].spec.type`, message: `unknown component type "${type}" (known: ${known.join(', ')})` })
      } else if (ctx.catalog !== undefined && extra.includes(type)) {
        // Each type checks its own metadata (baud rates, GPIO lines, cron expressions …), paths relative to it.
        for (const p of ctx.catalog.validate({ name: doc.metadata?.name, type, metadata: componentMetadata(doc) })) problems.push({ path: `components[${i}].${p.path}`, message: p.message })
      }
      const name = doc.metadata?.name
      if (names.has(name)) problems.push({ path: `components[${i}].metadata.name`, message: `duplicate component name "${name}"` })
      names.add(name)
    })
    return problems
  },
}

/** Dapr Subscription documents: a pub/sub that exists, a route. */
export const subscriptionsSection: ConfigSection = {
  key: 'subscriptions',
  schema: { type: 'array', default: [], items: subscriptionSchema },
  problems (c, ctx) {
    const problems: ConfigProblem[] = []
    c.subscriptions.forEach((doc: any, i: number) => {
      const spec = doc.spec ?? {}
      if (!ctx.pubsubs.has(spec.pubsubname)) problems.push({ path: `subscriptions[${i}].spec.pubsubname`, message: `no pub/sub component "${spec.pubsubname}" (known: ${[...ctx.pubsubs].join(', ')})` })
      if (spec.route === undefined && spec.routes === undefined) problems.push({ path: `subscriptions[${i}].spec`, message: 'needs route (v1alpha1) or routes (v2alpha1)' })
      if (spec.routes !== undefined && spec.routes.default === undefined && (spec.routes.rules ?? []).length === 0) {
        problems.push({ path: `subscriptions[${i}].spec.routes`, message: 'needs a default route or at least one rule' })
      }
    })
    return problems
  },
}
