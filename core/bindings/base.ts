/**
 * The part every binding shares (CONVENTIONS 2): the public methods own the open/closed state, operation checks,
 * counters and serialisation; a driver overrides `_open/_close/_invoke`. Drivers report input with `emitEvent` /
 * `emitError` and link changes with `setStatus`.
 */
import { MechaError } from '../errors.ts'
import { systemClock, type Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import { StatusStream } from '../status-stream.ts'
import type { Binding, BindingContext, BindingCounters, BindingErrorEvent, BindingEvent, BindingManifest, BindingResponse, BindingStatus } from './types.ts'

export abstract class BaseBinding implements Binding {
  readonly name: string
  readonly type: string
  readonly status = new StatusStream<BindingStatus>({ type: 'closed' })
  onEvent?: (event: BindingEvent) => void
  onError?: (event: BindingErrorEvent) => void
  protected readonly log: Logger
  protected readonly clock: Clock
  readonly #counters: BindingCounters = { events: 0, errors: 0, reconnects: 0, invokes: 0 }
  #opening: Promise<void> | undefined
  #closing: Promise<void> | undefined
  /** Operations run one at a time: two writers never interleave on the wire. */
  #queue: Promise<unknown> = Promise.resolve()

  constructor (name: string, type: string, ctx: BindingContext) {
    this.name = name
    this.type = type
    this.log = ctx.log.child({ binding: name, type })
    this.clock = ctx.clock ?? systemClock
  }

  abstract readonly manifest: BindingManifest
  protected abstract _open (): Promise<void>
  protected abstract _close (): Promise<void>
  protected abstract _invoke (operation: string, data: unknown, metadata: Record<string, string>): Promise<BindingResponse>

  get closed (): boolean { return this.#closing !== undefined }

  async open (): Promise<void> {
    if (this.#closing !== undefined) throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `binding ${this.name} is closed`)
    this.#opening ??= (async () => {
      this.setStatus({ type: 'opening' })
      await this._open()
    })()
    await this.#opening
  }

  async close (): Promise<void> {
    this.#closing ??= (async () => {
      try { await this.#opening } catch { /* an open that failed still gets its resources released */ }
      try {
        await this._close()
      } finally {
        this.setStatus({ type: 'closed' })
        this.status.close()
      }
    })()
    await this.#closing
  }

  async invoke (operation: string, data: unknown, metadata: Record<string, string> = {}): Promise<BindingResponse> {
    this.#counters.invokes++
    if (typeof operation !== 'string' || !this.manifest.operations.includes(operation)) {
      const known = this.manifest.operations.length > 0 ? `; it supports ${this.manifest.operations.join(', ')}` : '; it has no operations'
      throw new MechaError('MECHA_ERR_BINDING_OPERATION', `binding ${this.name} (${this.type}) does not support operation ${JSON.stringify(operation)}${known}`)
    }
    if (this.#closing !== undefined || this.#opening === undefined) {
      throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `binding ${this.name} is ${this.#closing !== undefined ? 'closed' : 'not open'}`)
    }
    const run = this.#queue.then(async () => await this._invoke(operation, data, metadata))
    this.#queue = run.catch(() => {})
    return await run
  }

  counters (): BindingCounters { return { ...this.#counters } }

  protected setStatus (s: BindingStatus): void {
    if (this.#closing !== undefined && s.type !== 'closed') return
    this.status.emit(s)
  }

  protected countReconnect (): void { this.#counters.reconnects++ }

  protected emitEvent (event: BindingEvent): void {
    this.#counters.events++
    this.#counters.lastEventAt = event.at
    try { this.onEvent?.(event) } catch (err) { this.log.error({ err }, 'binding event handler failed') }
  }

  protected emitError (event: BindingErrorEvent): void {
    this.#counters.errors++
    try { this.onError?.(event) } catch (err) { this.log.error({ err }, 'binding error handler failed') }
  }
}
