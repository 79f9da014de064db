import { obj, str } from './schema-parts.ts'

/**
 * The component types core itself implements. Binding types come from a `ComponentCatalog` (the binding
 * registry, which edge builds from devices/): a type that nothing implements is a config error that names the
 * known ones, so nothing is accepted or listed that would do nothing.
 */
export const BUILTIN_COMPONENT_TYPES = ['state.level', 'pubsub.mqtt'] as const

/** More component types, with a check of each component's metadata (paths relative to the component). */
export interface ComponentCatalog {
  types(): string[]
  validate(component: { name: string; type: string; metadata: Record<string, string> }): Array<{ path: string; message: string }>
}

const metadataItems = {
  type: 'array',
  default: [],
  items: obj({
    name: str({ minLength: 1 }),
    value: { type: ['string', 'number', 'boolean'] },
    secretKeyRef: obj({ name: str(), key: str() }),
  }, { required: ['name'] }),
}

const name = str({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', 'x-message': 'must be a DNS label: lower-case letters, digits and "-"' })

/** A Dapr Component document, unchanged shape (docs.dapr.io/reference/resource-specs/component-schema). */
export const componentSchema = obj({
  apiVersion: { const: 'dapr.io/v1alpha1', 'x-message': 'must be dapr.io/v1alpha1' },
  kind: { const: 'Component', 'x-message': 'must be Component' },
  metadata: obj({ name, namespace: str() }, { required: ['name'] }),
  auth: obj({ secretStore: str() }),
  scopes: { type: 'array', items: { type: 'string' } },
  spec: obj({
    type: str({ minLength: 1 }),
    version: str({ default: 'v1' }),
    ignoreErrors: { type: 'boolean' },
    initTimeout: str(),
    metadata: metadataItems,
  }, { required: ['type'] }),
}, { required: ['apiVersion', 'kind', 'metadata', 'spec'] })

const rule = obj({ match: str(), path: str({ minLength: 1 }) }, { required: ['path'] })

/** A Dapr Subscription document, v2alpha1 (routes) or v1alpha1 (route) (docs.dapr.io/reference/resource-specs/subscription-schema). */
export const subscriptionSchema = obj({
  apiVersion: { enum: ['dapr.io/v2alpha1', 'dapr.io/v1alpha1'], 'x-message': 'must be dapr.io/v2alpha1 or dapr.io/v1alpha1' },
  kind: { const: 'Subscription', 'x-message': 'must be Subscription' },
  metadata: obj({ name, namespace: str() }, { required: ['name'] }),
  scopes: { type: 'array', items: { type: 'string' } },
  spec: obj({
    pubsubname: str({ minLength: 1 }),
    topic: str({ minLength: 1 }),
    route: str({ minLength: 1 }),
    routes: obj({ rules: { type: 'array', items: rule }, default: str() }),
    deadLetterTopic: str({ minLength: 1 }),
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    bulkSubscribe: obj({
      enabled: { type: 'boolean' },
      maxMessagesCount: { type: 'integer', minimum: 1 },
      maxAwaitDurationMs: { type: 'integer', minimum: 0 },
    }),
  }, { required: ['pubsubname', 'topic'] }),
}, { required: ['apiVersion', 'kind', 'metadata', 'spec'] })
