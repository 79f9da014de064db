import type { CloudConfig } from './cloud-schema.ts'
import type { Durability } from '../store/store.ts'
import type { LogLevel } from '../logger.ts'

/** The parsed, defaulted, frozen configuration (the shape of schema.ts). */
export interface MechaConfig {
  readonly id: string
  readonly dataDir: string
  readonly componentsDir?: string
  readonly log: { readonly level: LogLevel; readonly pretty?: boolean }
  readonly store: { readonly durability: Durability }
  readonly mqtt: MqttConfig
  readonly api: { readonly host: string; readonly port: number; readonly token?: string; readonly maxBodyBytes: number }
  readonly state: { readonly maxValueBytes: number }
  readonly ui: { readonly host: string; readonly port: number; readonly enabled: boolean }
  readonly metrics: { readonly host: string; readonly port: number; readonly enabled: boolean }
  readonly cloud?: CloudConfig
  readonly components: readonly ComponentDoc[]
  readonly subscriptions: readonly SubscriptionDoc[]
  readonly apps: readonly AppConfig[]
}

export interface MqttConfig {
  readonly host: string
  readonly port: number
  readonly maxPayloadBytes: number
  readonly maxClients: number
  readonly maxInflight: number
  readonly connectTimeoutMs: number
  /** 0 = persistent sessions never expire. */
  readonly sessionExpirySeconds: number
  readonly users: ReadonlyArray<{ readonly username: string; readonly password: string }>
  readonly acl: readonly AclRule[]
}

export interface AclRule {
  readonly user?: string
  readonly clientId?: string
  /** An MQTT filter; `%u` is the username, `%c` the client id. */
  readonly topic: string
  readonly access: 'publish' | 'subscribe' | 'both'
  readonly allow: boolean
}

export interface ComponentDoc {
  readonly apiVersion: 'dapr.io/v1alpha1'
  readonly kind: 'Component'
  readonly metadata: { readonly name: string; readonly namespace?: string }
  readonly scopes?: readonly string[]
  readonly spec: {
    readonly type: string
    readonly version: string
    readonly ignoreErrors?: boolean
    readonly initTimeout?: string
    readonly metadata: ReadonlyArray<{ readonly name: string; readonly value?: string | number | boolean; readonly secretKeyRef?: { name?: string; key?: string } }>
  }
}

export interface SubscriptionDoc {
  readonly apiVersion: 'dapr.io/v2alpha1' | 'dapr.io/v1alpha1'
  readonly kind: 'Subscription'
  readonly metadata: { readonly name: string; readonly namespace?: string }
  readonly scopes?: readonly string[]
  readonly spec: {
    readonly pubsubname: string
    readonly topic: string
    readonly route?: string
    readonly routes?: { readonly rules?: ReadonlyArray<{ readonly match?: string; readonly path: string }>; readonly default?: string }
    readonly deadLetterTopic?: string
    readonly metadata?: Readonly<Record<string, string>>
    readonly bulkSubscribe?: { readonly enabled?: boolean; readonly maxMessagesCount?: number; readonly maxAwaitDurationMs?: number }
  }
}

export interface AppConfig {
  readonly id: string
  readonly command?: string
  readonly args: readonly string[]
  readonly cwd?: string
  readonly env: Readonly<Record<string, string>>
  readonly appPort?: number
  readonly appHost: string
  readonly restart: 'always' | 'on-failure' | 'never'
  readonly healthPath?: string
  /** Service invocation: a deadline per call; retries (constant interval) only of calls that never reached the app. */
  readonly invoke: { readonly timeoutMs: number; readonly maxRetries: number; readonly retryIntervalMs: number }
}

/** One problem found in a config, with the dotted path it is at. */
export interface ConfigProblem { path: string; message: string }

/** Component metadata as a plain map (Dapr's `[{name, value}]` list). */
export function componentMetadata (doc: ComponentDoc): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of doc.spec.metadata) if (m.value !== undefined) out[m.name] = String(m.value)
  return out
}
