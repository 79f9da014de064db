/**
 * The `cloud:` section of mecha.yaml: the link to the cloud MQTT broker (docs/cloud-bridge.md has the reference).
 * The schema is the single place defaults live; the TypeScript types below describe the result after ajv has
 * applied them (`useDefaults: true`), so fields with a default are not optional there.
 */
import { bool, int, obj, oneOf, str } from './schema-parts.ts'
import type { ConfigProblem } from './types.ts'

const URL_PATTERN = '^(mqtts?|wss?|tcp|tls)://'
const url = (): Record<string, unknown> => str({ pattern: URL_PATTERN, 'x-message': 'must be an mqtt://, mqtts://, ws:// or wss:// URL' })
const topic = (): Record<string, unknown> => str({ minLength: 1, pattern: '^[^\\u0000]*$' })
const qos = (dflt: number): Record<string, unknown> => ({ type: 'integer', enum: [0, 1, 2], default: dflt, 'x-message': 'must be 0, 1 or 2' })

const batchSchema = obj({
  maxMessages: int(1, 10_000, 100),
  maxDelayMs: int(0, 600_000, 1000),
  /** Where a batch is published; `{id}` and `{to}` (the rule's resolved `to`) expand. */
  topic: str({ minLength: 1, default: '{to}batch' }),
})

const forwardRule = obj({
  from: topic(),
  to: str({ default: '' }),
  qos: qos(1),
  retain: { type: 'boolean' },
  priority: int(0, 9, 5),
  ttlSeconds: int(1, 31_536_000),
  queueQos0: bool(true),
  batch: batchSchema,
}, { required: ['from'] })

const receiveRule = obj({
  from: topic(),
  to: str({ default: '' }),
  qos: qos(1),
}, { required: ['from'] })

export const cloudSchema = obj({
  url: url(),
  fallbackUrls: { type: 'array', items: url(), default: [] },
  protocolVersion: { type: 'integer', enum: [4, 5], default: 5, 'x-message': 'must be 5 (MQTT 5) or 4 (MQTT 3.1.1)' },
  clientId: str({ minLength: 1, default: '{id}' }),
  username: str(),
  password: str(),
  ca: str({ minLength: 1 }),
  cert: str({ minLength: 1 }),
  key: str({ minLength: 1 }),
  servername: str({ minLength: 1 }),
  rejectUnauthorized: bool(true),
  /** How often the cert/key/ca files are checked for changes. */
  tlsReloadMs: int(100, 3_600_000, 2000),
  keepalive: int(0, 65535, 60),
  connectTimeoutMs: int(100, 600_000, 10_000),
  cleanStart: bool(true),
  backoff: obj({ minMs: int(1, 3_600_000, 500), maxMs: int(1, 86_400_000, 60_000) }, { default: {} }),
  inflight: int(1, 65535, 256),
  forward: { type: 'array', items: forwardRule, default: [] },
  receive: { type: 'array', items: receiveRule, default: [] },
  outbox: obj({
    maxBytes: int(1024, Number.MAX_SAFE_INTEGER, 268_435_456),
    maxMessages: int(1, Number.MAX_SAFE_INTEGER, 10_000_000),
    whenFull: oneOf(['drop-oldest', 'reject-new'], 'drop-oldest'),
    durability: oneOf(['process', 'power'], 'process'),
  }, { default: {} }),
  envelope: oneOf(['none', 'json', 'cbor'], 'none'),
  statusTopic: str({ minLength: 1, default: 'mecha/cloud/status' }),
  rejectedTopic: str({ minLength: 1, default: 'mecha/cloud/rejected' }),
  stateSync: obj({
    store: str({ minLength: 1, default: 'statestore' }),
    prefix: str({ default: '' }),
    topic: str({ minLength: 1, default: 'gateways/{id}/state' }),
    coalesceMs: int(0, 600_000, 200),
    qos: qos(1),
  }),
}, { required: ['url'] })

/**
 * The checks across keys of the section that the schema cannot express. The one place they live: the loader
 * (`mecha check` and `mecha run`) and `parseCloudConfig` (a section handed to the bridge alone) both run them,
 * so the bridge never meets a config it would refuse. `c` has passed the schema (defaults filled); it is read
 * defensively because the loader runs cross-key checks on a broken shape too, to list every problem at once.
 */
export function cloudProblems (c: unknown, at = 'cloud'): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  if (c === null || typeof c !== 'object') return problems
  const cloud = c as { backoff?: { minMs?: unknown; maxMs?: unknown }; cert?: unknown; key?: unknown }
  const { minMs, maxMs } = cloud.backoff ?? {}
  // The reconnect delay starts at minMs and is capped at maxMs (decorrelatedJitter): min above max is no range.
  if (typeof minMs === 'number' && typeof maxMs === 'number' && minMs > maxMs) {
    problems.push({ path: `${at}.backoff.minMs`, message: `must be at most ${at}.backoff.maxMs (${maxMs}), is ${minMs}` })
  }
  // A client certificate is useless without its private key and the reverse (tls.createSecureContext needs both).
  if (cloud.cert !== undefined && cloud.key === undefined) problems.push({ path: `${at}.key`, message: `is required when ${at}.cert is set (the client certificate's private key)` })
  if (cloud.key !== undefined && cloud.cert === undefined) problems.push({ path: `${at}.cert`, message: `is required when ${at}.key is set (the certificate of that private key)` })
  return problems
}

export type Qos = 0 | 1 | 2

export interface CloudBatchConfig {
  /** @default 100 */ readonly maxMessages: number
  /** @default 1000 */ readonly maxDelayMs: number
  /** @default '{to}batch' */ readonly topic: string
}

export interface ForwardRule {
  /** Local MQTT filter. */
  readonly from: string
  /** Replaces the literal prefix of `from` (the levels before the first wildcard); `{id}` and `{topic}` expand. @default '' */
  readonly to: string
  /** @default 1 */ readonly qos: Qos
  /** Overrides the message's retain flag when set. */
  readonly retain?: boolean
  /** 0 = highest. @default 5 */ readonly priority: number
  readonly ttlSeconds?: number
  /** @default true */ readonly queueQos0: boolean
  readonly batch?: CloudBatchConfig
}

export interface ReceiveRule {
  /** Cloud MQTT filter; `{id}` expands. */
  readonly from: string
  /** Replaces the literal prefix of `from`. @default '' */
  readonly to: string
  /** @default 1 */ readonly qos: Qos
}

export interface OutboxConfig {
  /** @default 268435456 */ readonly maxBytes: number
  /** @default 10000000 */ readonly maxMessages: number
  /** @default 'drop-oldest' */ readonly whenFull: 'drop-oldest' | 'reject-new'
  /** @default 'process' */ readonly durability: 'process' | 'power'
}

export interface StateSyncConfig {
  /** @default 'statestore' */ readonly store: string
  /** @default '' */ readonly prefix: string
  /** Base topic: reports go to `<topic>/reported`, desired documents come on `<topic>/desired`. @default 'gateways/{id}/state' */
  readonly topic: string
  /** @default 200 */ readonly coalesceMs: number
  /** @default 1 */ readonly qos: Qos
}

export interface CloudConfig {
  readonly url: string
  /** @default [] */ readonly fallbackUrls: readonly string[]
  /** @default 5 */ readonly protocolVersion: 4 | 5
  /** @default '{id}' */ readonly clientId: string
  readonly username?: string
  readonly password?: string
  /** File paths, re-read when they change. */
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly servername?: string
  /** @default true */ readonly rejectUnauthorized: boolean
  /** @default 2000 */ readonly tlsReloadMs: number
  /** Seconds. @default 60 */ readonly keepalive: number
  /** @default 10000 */ readonly connectTimeoutMs: number
  /** @default true */ readonly cleanStart: boolean
  readonly backoff: { /** @default 500 */ readonly minMs: number; /** @default 60000 */ readonly maxMs: number }
  /** In-flight window of unacknowledged publishes. @default 256 */ readonly inflight: number
  /** @default [] */ readonly forward: readonly ForwardRule[]
  /** @default [] */ readonly receive: readonly ReceiveRule[]
  readonly outbox: OutboxConfig
  /** Wraps each payload with its id (for MQTT 3.1.1, which has no user properties). @default 'none' */
  readonly envelope: 'none' | 'json' | 'cbor'
  /** @default 'mecha/cloud/status' */ readonly statusTopic: string
  /** @default 'mecha/cloud/rejected' */ readonly rejectedTopic: string
  readonly stateSync?: StateSyncConfig
}

/** The section as a user may write it (every defaulted field optional), e.g. for tests and the composition root. */
export type CloudConfigInput = { readonly url: string } & Partial<Omit<CloudConfig, 'url' | 'backoff' | 'outbox' | 'forward' | 'receive' | 'stateSync'>> & {
  readonly backoff?: Partial<CloudConfig['backoff']>
  readonly outbox?: Partial<OutboxConfig>
  readonly forward?: ReadonlyArray<{ from: string } & Partial<Omit<ForwardRule, 'batch'>> & { batch?: Partial<CloudBatchConfig> }>
  readonly receive?: ReadonlyArray<{ from: string } & Partial<ReceiveRule>>
  readonly stateSync?: Partial<StateSyncConfig>
}
