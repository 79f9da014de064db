/**
 * `bindings.cron`: an input binding that fires on its schedule, on the injected Clock. Each firing is one
 * event: `value` is the fire time (ISO 8601), and `fields` carry the metadata Dapr's cron binding sends with
 * its (empty) body — `timeZone` and `readTimeUTC` (components-contrib bindings/cron/cron.go) — which the host
 * passes to apps as Dapr passes binding metadata.
 *
 * Like robfig/cron, a firing that was missed (the process was stopped, the event loop was blocked) is not
 * replayed: the next one is the schedule's next time after now. A timer that fires early only re-arms, so an
 * event never comes before its time.
 */
import { BaseBinding } from '../../core/bindings/base.ts'
import type { BindingComponent, BindingContext, BindingManifest, BindingResponse } from '../../core/bindings/types.ts'
import { MechaError } from '../../core/errors.ts'
import type { CronOptions } from './validate.ts'

const MAX_TIMER_MS = 2 ** 31 - 1

/** Go's `time.Time.String()` of a UTC time, the format of Dapr's `readTimeUTC` ("2024-01-01 00:00:15.25 +0000 UTC"). */
export function goUtcString (ms: number): string {
  const iso = new Date(ms).toISOString() // 2024-01-01T00:00:15.250Z
  const [date, rest] = iso.split('T') as [string, string]
  const [clock, frac] = rest.slice(0, -1).split('.') as [string, string]
  const f = frac.replace(/0+$/, '')
  return `${date} ${clock}${f === '' ? '' : `.${f}`} +0000 UTC`
}

export class CronBinding extends BaseBinding {
  readonly manifest: BindingManifest = Object.freeze({ directions: ['input'] as Array<'input' | 'output'>, operations: [] })
  readonly #o: CronOptions
  #timer: unknown
  #nextAt: number | undefined

  constructor (component: BindingComponent, ctx: BindingContext, options: CronOptions) {
    super(component.name, component.type, ctx)
    this.#o = options
  }

  /** The time of the next firing (epoch ms), undefined while closed. */
  get nextAt (): number | undefined { return this.#nextAt }

  protected async _open (): Promise<void> {
    this.#nextAt = this.#o.schedule.next(this.clock.now())
    this.#arm()
    this.setStatus({ type: 'open', detail: `${this.#o.schedule.expression}; next ${new Date(this.#nextAt).toISOString()}` })
  }

  protected async _close (): Promise<void> {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#nextAt = undefined
  }

  protected async _invoke (operation: string): Promise<BindingResponse> {
    // Unreachable: the manifest lists no operations, so BaseBinding refuses every one first.
    throw new MechaError('MECHA_ERR_BINDING_OPERATION', `binding ${this.name} (bindings.cron) has no operation ${operation}`)
  }

  #arm (): void {
    if (this.closed || this.#nextAt === undefined) return
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, this.#nextAt - this.clock.now()))
    this.#timer = this.clock.setTimeout(() => { this.#timer = undefined; this.#wake() }, delay)
  }

  #wake (): void {
    if (this.closed || this.#nextAt === undefined) return
    const now = this.clock.now()
    const at = this.#nextAt
    if (now < at) { this.#arm(); return }
    let next = this.#o.schedule.next(at)
    if (next <= now) next = this.#o.schedule.next(now)
    this.#nextAt = next
    this.#arm()
    this.emitEvent({
      value: new Date(at).toISOString(),
      at: now,
      fields: { schedule: this.#o.schedule.expression, timeZone: this.#o.schedule.timeZone ?? 'Local', readTimeUTC: goUtcString(now) },
    })
  }
}
