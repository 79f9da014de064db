import type { ConfigProblem } from '../../core/config/types.ts'

/**
 * What the admin API needs from the runtime, and nothing more: the composition root (edge/runtime.ts)
 * implements it over the parts it owns; the admin routes never import the runtime (CONVENTIONS 14: one service
 * layer, thin HTTP adapters). Methods throw MechaErrors (ERR_APP_NOT_FOUND, MECHA_ERR_MQTT_CLIENT_NOT_FOUND,
 * MECHA_ERR_CONFIG_INVALID with `details: ConfigProblem[]`, …), which the routes answer with their status.
 * Async iterables are ended with `return()` when the HTTP client goes away.
 */
export interface AdminBackend {
  status(): Promise<AdminStatus>
  /** Every change of any part's status, from the same status streams as /metrics and /v1.0/metadata. */
  statusEvents(): AsyncIterable<AdminStatusEvent>

  apps: {
    list(): Promise<AdminApp[]>
    start(id: string): Promise<void>
    stop(id: string): Promise<void>
    restart(id: string): Promise<void>
    /** The last `lines` lines of the app's output, oldest first. */
    logs(id: string, lines: number): Promise<AdminLogLine[]>
    /** The last `lines` lines, then every new one until `return()`. */
    followLogs(id: string, lines: number): AsyncIterable<AdminLogLine>
  }

  components: {
    list(): Promise<AdminComponent[]>
    /** Dapr Component documents, checked as the config loader would; [] when they are fine. */
    validate(docs: unknown): Promise<ConfigProblem[]>
    /** Replaces the configured components (validated first; refused with MECHA_ERR_CONFIG_INVALID). */
    apply(docs: unknown): Promise<AdminApplyResult>
  }

  config: {
    /** The running config as the file holds it, secrets (password hashes, tokens) redacted. */
    get(): Promise<AdminConfigView>
    validate(doc: unknown): Promise<ConfigProblem[]>
    /** Validates, writes the file atomically, keeps the previous version, hot-reloads the parts that changed. */
    apply(doc: unknown): Promise<AdminApplyResult>
    /** Back to the previous version (MECHA_ERR_CONFIG_INVALID when there is none). */
    rollback(): Promise<AdminApplyResult>
  }

  cloud(): Promise<AdminCloud>
  /** The Cloud page's actions; absent where the runtime cannot do them. */
  cloudActions?: {
    /** Connects with a cloud section (validated as the config would be) and reports the broker's answer. */
    test(section: unknown): Promise<{ ok: boolean; message: string }>
    /** Drops every queued, unsent outbox message (ledger: dropped.admin); returns how many. */
    dropQueued?(): Promise<number>
  }

  mqtt: {
    clients(): Promise<AdminMqttClient[]>
    disconnect(clientId: string): Promise<void>
  }

  /**
   * The web UI's State page (routes/state.ts). Optional: without it those routes answer 404 ERR_NOT_FOUND.
   * Unknown store: ERR_STATE_STORE_NOT_FOUND; stale ETag: ERR_ETAG_MISMATCH; bad key: ERR_STATE_KEY_INVALID.
   */
  state?: {
    /** The state stores (the built-in `statestore` first). */
    stores(): Promise<string[]>
    /** Keys in key order that start with `prefix`, `pageSize` of them after skipping `page * pageSize`. */
    keys(store: string, q: { prefix: string; page: number; pageSize: number }): Promise<AdminStateKeys>
    /** undefined when the key has no value. */
    get(store: string, key: string): Promise<AdminStateItem | undefined>
    /** Saves with first-write-wins semantics when `etag` is given (Dapr's ETag concurrency). */
    set(store: string, key: string, value: unknown, etag?: string): Promise<{ etag: string }>
    delete(store: string, key: string, etag?: string): Promise<void>
  }

  /** The web UI's Devices page (routes/bindings.ts). Optional as `state`. Unknown name: ERR_BINDING_NOT_FOUND. */
  bindings?: {
    list(): Promise<AdminBinding[]>
    /** As `POST /v1.0/bindings/{name}` (MECHA_ERR_BINDING_* errors as that route answers them). */
    invoke(name: string, req: AdminBindingRequest): Promise<AdminBindingResponse>
  }
}

export interface AdminStateKeys {
  keys: string[]
  /** True when a further page has keys. */
  more: boolean
}

export interface AdminStateItem {
  value: unknown
  etag: string
}

export interface AdminBinding {
  name: string
  type: string
  status: PartStatus
  /** e.g. `{events, errors, writes, requests}` */
  counters: Record<string, number>
  /** The last few input events (as published on `devices/{name}/events`), newest last. */
  lastEvents: Array<{ ts: string; value?: unknown; raw?: string }>
  /** The operations it accepts: serial `write`/`request`, GPIO `read`/`write`/`toggle`. */
  operations: string[]
}

export interface AdminBindingRequest {
  operation: string
  data?: unknown
  metadata?: Record<string, string>
}

export interface AdminBindingResponse {
  data?: unknown
  metadata?: Record<string, string>
}

/** A part's status: a discriminated union on `type` (CONVENTIONS 7), passed through as the part emits it. */
export interface PartStatus { readonly type: string; readonly [key: string]: unknown }

export interface AdminStatus {
  id: string
  version: string
  /** ISO 8601 */
  startedAt: string
  uptimeSeconds: number
  /** The process's memory (process.memoryUsage()); the UI shows it when present. */
  memory?: { rssBytes: number; heapUsedBytes: number }
  /** By part name: `broker`, `cloud`, `apps.<id>`, `components.<name>`, … */
  parts: Record<string, PartStatus>
}

export interface AdminStatusEvent {
  part: string
  status: PartStatus
  /** ISO 8601 */
  at: string
}

export interface AdminApp {
  id: string
  /** e.g. `running`, `stopped`, `backoff`, `failed` */
  state: string
  pid?: number
  restarts: number
  command?: string
  startedAt?: string
}

export interface AdminLogLine {
  /** ISO 8601 */
  ts: string
  stream: 'stdout' | 'stderr'
  line: string
}

export interface AdminComponent {
  name: string
  type: string
  version: string
  builtIn: boolean
  status: PartStatus
}

export interface AdminConfigView {
  config: unknown
  /** Where it is kept; undefined when the runtime runs from defaults only. */
  file?: string
  /** True when `rollback` has a previous version to go back to. */
  canRollback: boolean
}

export interface AdminApplyResult {
  /** Parts that were restarted or reconfigured. */
  reloaded: string[]
}

export interface AdminCloud {
  configured: boolean
  status: PartStatus
  outbox?: {
    queued: number; bytes: number; maxBytes: number; accepted: number; delivered: number; dropped: number
    /** ISO 8601: when the oldest message still queued was accepted; the UI shows its age. */
    oldestQueuedAt?: string
  }
}

export interface AdminMqttClient {
  id: string
  username?: string
  address?: string
  /** ISO 8601 */
  connectedAt?: string
  /** `tcp` or `ws` */
  transport?: string
}
