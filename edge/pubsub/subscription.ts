/**
 * One subscription of one app, whichever way it was declared: a Subscription document in the config
 * (docs.dapr.io/reference/resource-specs/subscription-schema, v2alpha1 `routes` or v1alpha1 `route`) or an
 * entry of the app's `GET /dapr/subscribe` (docs.dapr.io/reference/api/pubsub_api, "Provide a route for Dapr
 * to discover topic subscriptions"). Delivery tuning rides in the subscription's metadata, so both forms and
 * the Dapr document shape stay as they are.
 */
import type { SubscriptionDoc } from '../../core/config/index.ts'
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.ts'
import { filterProblem } from './topic.ts'

export interface DeliveryPolicy {
  /** Events in flight at once; 1 keeps per-topic order. @default 1 */
  concurrency: number
  /** Deadline of one delivery attempt. @default 60000 */
  timeoutMs: number
  retry: RetryPolicy
}

export const DEFAULT_DELIVERY: Readonly<DeliveryPolicy> = Object.freeze({ concurrency: 1, timeoutMs: 60_000, retry: DEFAULT_RETRY })

export interface Rule { match: string; path: string }

export interface Subscription {
  /** Unique per app: the document name, or `pubsub/topic` for a programmatic one. */
  name: string
  kind: 'declarative' | 'programmatic'
  appId: string
  pubsubname: string
  /** An MQTT filter; `+` and `#` allowed. */
  topic: string
  /** Rules in order; an empty match always matches. */
  rules: Rule[]
  defaultPath?: string
  deadLetterTopic?: string
  metadata: Record<string, string>
  rawPayload: boolean
  bulk?: { maxMessagesCount: number; maxAwaitDurationMs: number }
  delivery: DeliveryPolicy
}

/** Dapr's bulk subscribe defaults (docs.dapr.io/…/pubsub-bulk: 100 messages, 1000 ms). */
const BULK_DEFAULTS = { maxMessagesCount: 100, maxAwaitDurationMs: 1000 }

function path (p: string): string {
  return p.startsWith('/') ? p : `/${p}`
}

function num (meta: Record<string, string>, key: string, fallback: number, min: number): number {
  const raw = meta[key]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) throw new Error(`metadata.${key} must be a number ≥ ${min}, not "${raw}"`)
  return n
}

/** Delivery tuning from metadata: concurrency, timeoutMs, maxRetries, retryIntervalMs, retryMaxIntervalMs. */
export function deliveryPolicy (meta: Record<string, string>, defaults: DeliveryPolicy = DEFAULT_DELIVERY): DeliveryPolicy {
  return {
    concurrency: Math.floor(num(meta, 'concurrency', defaults.concurrency, 1)),
    timeoutMs: num(meta, 'timeoutMs', defaults.timeoutMs, 1),
    retry: {
      ...defaults.retry,
      maxRetries: Math.floor(num(meta, 'maxRetries', defaults.retry.maxRetries, -1)),
      initialIntervalMs: num(meta, 'retryIntervalMs', defaults.retry.initialIntervalMs, 0),
      maxIntervalMs: num(meta, 'retryMaxIntervalMs', defaults.retry.maxIntervalMs, 0),
    },
  }
}

/** The Dapr JS SDK JSON-encodes each metadata value (`"5"` arrives as `"\"5\""`); one layer of quotes is taken off. */
function unquote (v: string): string {
  if (v.length < 2 || !v.startsWith('"') || !v.endsWith('"')) return v
  try { const s = JSON.parse(v) as unknown; return typeof s === 'string' ? s : v } catch { return v }
}

interface RawSpec {
  pubsubname?: unknown
  topic?: unknown
  route?: unknown
  routes?: { rules?: unknown; default?: unknown }
  deadLetterTopic?: unknown
  metadata?: unknown
  bulkSubscribe?: { enabled?: unknown; maxMessagesCount?: unknown; maxAwaitDurationMs?: unknown }
}

/** Builds a Subscription, or throws an Error whose message says what is wrong. */
function build (name: string, kind: Subscription['kind'], appId: string, spec: RawSpec, defaults: DeliveryPolicy): Subscription {
  if (typeof spec.pubsubname !== 'string' || spec.pubsubname === '') throw new Error('pubsubname is required')
  if (typeof spec.topic !== 'string') throw new Error('topic is required')
  const problem = filterProblem(spec.topic)
  if (problem !== undefined) throw new Error(`topic "${spec.topic}": ${problem}`)
  const metadata: Record<string, string> = {}
  if (spec.metadata !== undefined && spec.metadata !== null) {
    if (typeof spec.metadata !== 'object') throw new Error('metadata must be an object')
    for (const [k, v] of Object.entries(spec.metadata)) metadata[k] = unquote(String(v))
  }
  const rules: Rule[] = []
  let defaultPath: string | undefined
  if (typeof spec.route === 'string' && spec.route !== '') defaultPath = path(spec.route)
  if (spec.routes !== undefined && spec.routes !== null) {
    if (typeof spec.routes.default === 'string' && spec.routes.default !== '') defaultPath = path(spec.routes.default)
    if (spec.routes.rules !== undefined && spec.routes.rules !== null) {
      if (!Array.isArray(spec.routes.rules)) throw new Error('routes.rules must be a list')
      for (const r of spec.routes.rules as Array<{ match?: unknown; path?: unknown }>) {
        if (typeof r?.path !== 'string' || r.path === '') throw new Error('every rule needs a path')
        rules.push({ match: typeof r.match === 'string' ? r.match : '', path: path(r.path) })
      }
    }
  }
  if (defaultPath === undefined && rules.length === 0) throw new Error('needs a route, routes.default or routes.rules')
  const b = spec.bulkSubscribe
  const bulk = b !== undefined && b !== null && b.enabled === true
    ? {
        maxMessagesCount: typeof b.maxMessagesCount === 'number' && b.maxMessagesCount >= 1 ? Math.floor(b.maxMessagesCount) : BULK_DEFAULTS.maxMessagesCount,
        maxAwaitDurationMs: typeof b.maxAwaitDurationMs === 'number' && b.maxAwaitDurationMs >= 0 ? b.maxAwaitDurationMs : BULK_DEFAULTS.maxAwaitDurationMs,
      }
    : undefined
  const deadLetterTopic = typeof spec.deadLetterTopic === 'string' && spec.deadLetterTopic !== '' ? spec.deadLetterTopic : undefined
  if (deadLetterTopic !== undefined && (deadLetterTopic.includes('+') || deadLetterTopic.includes('#'))) throw new Error('deadLetterTopic must be a topic name, without wildcards')
  return {
    name,
    kind,
    appId,
    pubsubname: spec.pubsubname,
    topic: spec.topic,
    rules,
    ...(defaultPath === undefined ? {} : { defaultPath }),
    ...(deadLetterTopic === undefined ? {} : { deadLetterTopic }),
    metadata,
    rawPayload: metadata.rawPayload === 'true',
    ...(bulk === undefined ? {} : { bulk }),
    delivery: deliveryPolicy(metadata, defaults),
  }
}

/** A declarative subscription for one app in its scopes. */
export function fromDoc (doc: SubscriptionDoc, appId: string, defaults: DeliveryPolicy = DEFAULT_DELIVERY): Subscription {
  return build(doc.metadata.name, 'declarative', appId, doc.spec as RawSpec, defaults)
}

/** The apps a declarative subscription is for: its scopes, or every app when it has none (as in Dapr). */
export function inScope (doc: SubscriptionDoc, appId: string): boolean {
  return doc.scopes === undefined || doc.scopes.length === 0 || doc.scopes.includes(appId)
}

/**
 * The entries of an app's `/dapr/subscribe` answer: valid ones, and a problem per invalid one (logged;
 * one bad entry does not cost the app its other subscriptions). `listed` names every entry that has a
 * pubsubname and a topic, valid or not: an entry the app still lists keeps its session (and its queue)
 * while it is broken, so fixing a typo loses nothing.
 */
export function fromProgrammatic (body: unknown, appId: string, defaults: DeliveryPolicy = DEFAULT_DELIVERY): { subs: Subscription[]; problems: string[]; listed: string[] } {
  const subs: Subscription[] = []
  const problems: string[] = []
  const listed: string[] = []
  if (!Array.isArray(body)) return { subs, problems: body === undefined ? [] : ['the answer to GET /dapr/subscribe is not a JSON array'], listed }
  body.forEach((e, i) => {
    try {
      if (e === null || typeof e !== 'object') throw new Error('not an object')
      const spec = e as RawSpec
      const name = `${String(spec.pubsubname)}/${String(spec.topic)}`
      if (typeof spec.pubsubname === 'string' && typeof spec.topic === 'string') listed.push(name)
      subs.push(build(name, 'programmatic', appId, spec, defaults))
    } catch (err) {
      problems.push(`entry ${i}: ${(err as Error).message}`)
    }
  })
  return { subs, problems, listed }
}
