/**
 * Device bindings (serial, GPIO, cron, Modbus …) as every other part sees them. Implementations live in
 * `devices/`; the registry (`registry.ts`) maps a Dapr component `spec.type` to a factory that validates the
 * component's metadata at `mecha check` time and creates the binding at run time. The runtime (edge) turns
 * input events into MQTT messages on `devices/{name}/events` and Dapr input-binding calls, and routes
 * `POST /v1.0/bindings/{name}` and the MQTT command topic to `invoke()`.
 */
import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import type { ConfigProblem } from '../config/types.ts'
import type { StatusStream } from '../status-stream.ts'

/** One input event, as published on `devices/{name}/events` (JSON) and delivered to apps. */
export interface BindingEvent {
  /** The parsed value (a number, an object from `parse`, a boolean for GPIO …) or the decoded frame. */
  value: unknown
  /** The frame as received, decoded as configured (utf8 text, hex, base64); undefined where there is none (cron). */
  raw?: string
  /** When it was read (ms since the epoch); the runtime stamps `ts` from it as an ISO time. */
  at: number
  /** Extra fields a binding adds to the event JSON (e.g. `line`, `edge` for GPIO). */
  fields?: Record<string, unknown>
}

/** A problem a binding reports without stopping: a malformed frame, a failed parse; published on `devices/{name}/errors`. */
export interface BindingErrorEvent {
  code: string
  message: string
  raw?: string
  at: number
}

/** What an output operation returns: Dapr's binding response (`data` and `metadata`). */
export interface BindingResponse {
  data?: unknown
  metadata?: Record<string, string>
}

/** Operations a binding supports, listed in `/v1.0/metadata` as Dapr lists a binding's capabilities. */
export interface BindingManifest {
  /** `input` when it emits events, `output` when it has operations. */
  directions: Array<'input' | 'output'>
  operations: string[]
}

export type BindingStatus =
  | { type: 'opening' }
  | { type: 'open'; detail?: string }
  | { type: 'disconnected'; reason: string; retryInMs?: number }
  | { type: 'error'; reason: string }
  | { type: 'closed' }

/** Counters every binding keeps; shown in metadata, metrics and the admin API. */
export interface BindingCounters {
  events: number
  errors: number
  reconnects: number
  invokes: number
  lastEventAt?: number
}

export interface Binding {
  readonly name: string
  readonly type: string
  readonly manifest: BindingManifest
  /** Status changes: `status.current` now, `status.on('status', fn)` or `for await` for the changes. */
  readonly status: StatusStream<BindingStatus>
  /** Opens the device (idempotent). A device that is absent is not an error here: the binding reports
   *  `disconnected` and keeps retrying with backoff; only a config it cannot use at all throws. */
  open(): Promise<void>
  /** Releases the device, its timers and child processes (idempotent). */
  close(): Promise<void>
  /** An output operation; throws a MechaError (`MECHA_ERR_BINDING_*`) with a clear message on failure. */
  invoke(operation: string, data: unknown, metadata: Record<string, string>): Promise<BindingResponse>
  /** Input events; the host sets these before `open()`. */
  onEvent?: (event: BindingEvent) => void
  onError?: (event: BindingErrorEvent) => void
  counters(): BindingCounters
}

/** What a factory gets besides the component. */
export interface BindingContext {
  log: Logger
  clock?: Clock
}

/** A component document, reduced to what a binding needs: its name and its `spec.metadata` as a plain map. */
export interface BindingComponent {
  name: string
  type: string
  metadata: Record<string, string>
}

export interface BindingFactory {
  readonly type: string
  /** Problems with the component's metadata, each with a path relative to the component
   *  (`spec.metadata.baudRate`); the config pipeline prefixes it with `components[i].`. Pure: no I/O. */
  validate(component: BindingComponent): ConfigProblem[]
  /** Creates the binding (not yet open). Loads its heavy dependencies (the serialport addon …) here, lazily. */
  create(component: BindingComponent, ctx: BindingContext): Promise<Binding>
}
