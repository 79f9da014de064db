/**
 * `bindings.gpio`: one line, input (edges as events, `read`) or output (`write`, `read`, `toggle`). Debounce is
 * done here, the same for both backends: a level must hold for `debounceMs` before it is reported, and an
 * event is emitted only when the reported level changes in a direction `edge` asks for. A line that cannot be
 * claimed (chip absent, line busy) or stops being watchable reports `disconnected` and is retried with backoff.
 */
import { Backoff } from '../../core/backoff.ts'
import { BaseBinding } from '../../core/bindings/base.ts'
import type { BindingComponent, BindingContext, BindingManifest, BindingResponse } from '../../core/bindings/types.ts'
import { MechaError } from '../../core/errors.ts'
import type { GpioLine } from './backend.ts'
import { parseLevel, type GpioOptions, type Level } from './validate.ts'

export type LineFactory = (o: GpioOptions, ctx: BindingContext) => GpioLine

export class GpioBinding extends BaseBinding {
  readonly manifest: BindingManifest
  readonly #o: GpioOptions
  readonly #makeLine: () => GpioLine
  readonly #backoff: Backoff
  #line: GpioLine | undefined
  #ready = false
  #retry: unknown
  #debounce: unknown
  #pending: Level | undefined
  #reported: Level | undefined
  #lost = false

  constructor (component: BindingComponent, ctx: BindingContext, options: GpioOptions, makeLine: LineFactory) {
    super(component.name, component.type, ctx)
    this.#o = options
    this.#makeLine = () => makeLine(options, ctx)
    this.#backoff = new Backoff({ initialMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs })
    this.manifest = Object.freeze(options.direction === 'out'
      ? { directions: ['output'] as Array<'input' | 'output'>, operations: ['write', 'read', 'toggle'] }
      : { directions: (options.edge === 'none' ? ['output'] : ['input', 'output']) as Array<'input' | 'output'>, operations: ['read'] })
  }

  protected async _open (): Promise<void> { await this.#connect() }

  async #connect (): Promise<void> {
    this.#retry = undefined
    if (this.closed) return
    const line = this.#makeLine()
    this.#line = line
    try {
      await line.open()
    } catch (err) {
      await line.close().catch(() => {})
      this.#onLost(line, (err as Error).message)
      return
    }
    if (this.closed) { await line.close(); return }
    if (this.#o.direction === 'in' && this.#o.edge !== 'none') {
      this.#reported = undefined
      line.watch((level) => { this.#observe(level) }, (reason) => { this.#onLost(line, reason) })
    }
    if (this.#lost) this.countReconnect()
    this.#lost = false
    this.#ready = true
    this.#backoff.reset()
    this.setStatus({ type: 'open', detail: line.describe })
  }

  #onLost (line: GpioLine, reason: string): void {
    if (this.#line !== line || this.closed) return
    this.#ready = false
    this.#line = undefined
    this.#lost = true
    void line.close().catch(() => {})
    this.#cancelDebounce()
    const retryInMs = this.#backoff.next()
    this.log.warn({ reason, retryInMs }, 'gpio line unavailable')
    this.setStatus({ type: 'disconnected', reason, retryInMs })
    this.#retry = this.clock.setTimeout(() => { void this.#connect() }, retryInMs)
  }

  #cancelDebounce (): void {
    if (this.#debounce !== undefined) { this.clock.clearTimeout(this.#debounce); this.#debounce = undefined }
  }

  #observe (level: Level): void {
    // The first level seen is the starting point, not an edge.
    if (this.#reported === undefined) { this.#reported = level; return }
    this.#pending = level
    this.#cancelDebounce()
    if (this.#o.debounceMs === 0) { this.#settle(); return }
    this.#debounce = this.clock.setTimeout(() => { this.#debounce = undefined; this.#settle() }, this.#o.debounceMs)
  }

  #settle (): void {
    const level = this.#pending
    if (level === undefined || level === this.#reported) return
    this.#reported = level
    const edge = level === 1 ? 'rising' : 'falling'
    if (this.#o.edge !== 'both' && this.#o.edge !== edge) return
    this.emitEvent({ value: level === 1, raw: String(level), at: this.clock.now(), fields: { edge, level, line: this.#lineName() } })
  }

  #lineName (): string {
    return this.#o.backend === 'sysfs' ? `gpio${this.#o.sysfs!}` : `${this.#o.chip!}:${this.#o.line!}`
  }

  protected async _invoke (operation: string, data: unknown): Promise<BindingResponse> {
    const line = this.#line
    if (line === undefined || !this.#ready) throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `gpio ${this.#lineName()} is not available${this.status.current.type === 'disconnected' ? `: ${this.status.current.reason}` : ''}`)
    try {
      let level: Level
      if (operation === 'read') level = await line.read()
      else if (operation === 'toggle') { level = (await line.read()) === 1 ? 0 : 1; await line.write(level) } else {
        const parsed = levelOf(data)
        if (parsed === undefined) throw new MechaError('MECHA_ERR_BINDING_DATA', 'write needs data 0 or 1 (true/false, "high"/"low", "on"/"off", or {"value": …})')
        level = parsed
        await line.write(level)
      }
      return { data: { value: level === 1, level } }
    } catch (err) {
      if (err instanceof MechaError) throw err
      throw new MechaError('MECHA_ERR_BINDING_IO', `gpio ${this.#lineName()} ${operation} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  protected async _close (): Promise<void> {
    if (this.#retry !== undefined) { this.clock.clearTimeout(this.#retry); this.#retry = undefined }
    this.#cancelDebounce()
    const line = this.#line
    this.#line = undefined
    this.#ready = false
    await line?.close()
  }
}

function levelOf (data: unknown): Level | undefined {
  if (data === 1 || data === true) return 1
  if (data === 0 || data === false) return 0
  if (typeof data === 'string') return parseLevel(data.trim())
  if (data !== null && typeof data === 'object' && 'value' in data) return levelOf((data as { value: unknown }).value)
  return undefined
}
