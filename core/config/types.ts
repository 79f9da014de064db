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
  readonly memory: MemoryConfig
  readonly mqtt: MqttConfig
  readonly api: {
    readonly host: string; readonly port: number; readonly token?: string; readonly maxBodyBytes: number
    /** The Dapr gRPC API. @default true */ readonly grpc: boolean
    /** @default 50001 (0 picks a free port) */ readonly grpcPort: number
    /** @default 4194304 */ readonly grpcMaxMessageBytes: number
  }
  readonly state: { readonly maxValueBytes: number }
  readonly ui: UiConfig
  readonly metrics: { readonly host: string; readonly port: number; readonly enabled: boolean }
  readonly cloud?: CloudConfig
  readonly components: readonly ComponentDoc[]
  readonly subscriptions: readonly SubscriptionDoc[]
  readonly apps: readonly AppConfig[]
}

export interface MemoryConfig {
  /**
   * The most the JavaScript heap may grow to, in MiB (V8's `--max-old-space-size`, 32 to 65536): past it the
   * process ends with an out-of-memory error and systemd restarts it, instead of the gateway swapping or the
   * kernel's OOM killer choosing a victim. Applied at start (`mecha run` re-executes itself once with the
   * limit); a reload reports it as needing a restart. `NODE_OPTIONS=--max-old-space-size=N` does the same.
   * @default undefined (V8's own limit, from the machine's memory)
   */
  readonly maxHeapMiB?: number
  /**
   * When the runtime has been idle for a few seconds and its heap has grown, run one memory-reducing full GC,
   * which gives V8's emptied young generation and old-space pages back to the gateway (V8 keeps them
   * otherwise). Never while busy, at most every 30 s. Applied at start; a reload reports it as needing a restart.
   * @default true
   */
  readonly compactWhenIdle: boolean
}

export interface UiConfig {
  /** @default '127.0.0.1' */
  readonly host: string
  /** @default 8080 */
  readonly port: number
  /** @default true */
  readonly enabled: boolean
  /** HTTPS on the UI port. @default undefined (plain HTTP) */
  readonly tls?: UiTlsConfig
  readonly session: UiSessionConfig
}

/** PEM files, or a self-signed certificate made once and kept in `<dataDir>/ui-tls/`. */
export type UiTlsConfig =
  | { readonly cert: string; readonly key: string; readonly selfSigned?: undefined; readonly altNames?: readonly string[] }
  | { readonly selfSigned: true; readonly cert?: undefined; readonly key?: undefined; /** @default [] */ readonly altNames?: readonly string[] }

/** Admin sessions live in memory only: a restart logs everyone out. */
export interface UiSessionConfig {
  /** Seconds without a request after which a session ends. @default 1800 */
  readonly idleTimeoutSeconds: number
  /** Seconds after login after which a session ends regardless. @default 43200 */
  readonly maxAgeSeconds: number
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
  /** How the runtime calls the app: HTTP, or the gRPC AppCallback service. @default 'http' */
  readonly appProtocol: 'http' | 'grpc'
  /** @default 'always' */
  readonly restart: 'always' | 'on-failure' | 'never'
  /** Superseded by `health.path`; when set without `health`, probes run on that path with the defaults. */
  readonly healthPath?: string
  /** Apps started (and up) before this one, stopped after it. @default [] */
  readonly dependsOn: readonly string[]
  /** Restart delays: exponential with jitter; a run longer than `resetAfterMs` starts them over. */
  readonly backoff: {
    /** @default 500 */ readonly initialMs: number
    /** @default 30000 */ readonly maxMs: number
    /** @default 30000 */ readonly resetAfterMs: number
  }
  /** This many unrequested exits within `windowMs` put the app in `crash-loop`: no more restarts until asked. */
  readonly crashLoop: {
    /** @default 5 */ readonly failures: number
    /** @default 60000 */ readonly windowMs: number
  }
  /** Dapr app-health probes: `GET http://appHost:appPort{path}`; absent = no probes. Needs `appPort`. */
  readonly health?: AppHealthConfig
  /** SIGTERM to the app's whole process tree, SIGKILL after this long. @default 3000 */
  readonly stopGraceMs: number
  /** stdout/stderr, line by line with timestamps, in `<dataDir>/logs/<id>.log` rotated to `.1` … `.{files}`. */
  readonly logs: {
    /** @default 1048576 */ readonly maxBytes: number
    /** @default 3 */ readonly files: number
  }
  /** Service invocation: a deadline per call; retries (constant interval) only of calls that never reached the app. */
  readonly invoke: { readonly timeoutMs: number; readonly maxRetries: number; readonly retryIntervalMs: number }
}

export interface AppHealthConfig {
  /** @default '/healthz' */ readonly path: string
  /** @default 5000 */ readonly intervalMs: number
  /** @default 500 */ readonly timeoutMs: number
  /** Consecutive failed probes that make the app unhealthy (one success makes it healthy). @default 3 */
  readonly threshold: number
  /** Failed probes while unhealthy after which the app is restarted; 0 = never. @default 12 */
  readonly restartAfter: number
}

/** One problem found in a config, with the dotted path it is at. */
export interface ConfigProblem { path: string; message: string }

/** Component metadata as a plain map (Dapr's `[{name, value}]` list). */
export function componentMetadata (doc: ComponentDoc): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of doc.spec.metadata) if (m.value !== undefined) out[m.name] = String(m.value)
  return out
}
