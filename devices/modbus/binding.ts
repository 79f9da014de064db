/**
 * `bindings.modbus`: polls the points of a device profile over one link (RTU or TCP) and reports them by
 * exception; `read` and `write` on demand. modbus-serial is imported only by the factory, when the first
 * Modbus binding is created (CONVENTIONS 13).
 *
 * Faults stay where they happen. A unit id that stops answering is marked `unreachable` (an error event, a
 * counter, the status detail) and is then only probed with backoff, so the other units on the bus keep their
 * poll rate; it is never a reason to reset the link. An exception answer (illegal data address …) belongs to
 * the points asked for: a merged request that draws one is split into one request per point, and a point that
 * keeps answering with an exception is reported once and retried with backoff, not on every poll.
 */
import { Backoff } from '../../core/backoff.ts'
import { BaseBinding } from '../../core/bindings/base.ts'
import type { BindingComponent, BindingContext, BindingManifest, BindingResponse } from '../../core/bindings/types.ts'
import { MechaError } from '../../core/errors.ts'
import { decodePoint, encodePoint, EncodeError } from './codec.ts'
import { ModbusLink, RequestError, type LinkState, type ModbusClientClass, type ModbusRTU } from './link.ts'
import { isBits, planBlocks, planGroups, splitBlock, type Block } from './plan.ts'
import type { Point } from './profile.ts'
import type { ModbusOptions } from './validate.ts'

export type UnitHealth = 'unknown' | 'ok' | 'unreachable'

/** Per unit id, as `units()` reports it and the status detail summarises it. */
export interface UnitStatus {
  unitId: number
  state: UnitHealth
  /** When it entered the state (ms since the epoch). */
  since?: number
  lastError?: string
  /** Requests that got no answer (after their retries). */
  timeouts: number
  /** Times the unit went unreachable. */
  unreachable: number
  /** Exception answers. */
  exceptions: number
}

interface UnitRuntime extends UnitStatus { backoff: Backoff; nextProbeAt: number }
interface PointRuntime { hasLast: boolean; last: unknown; exception?: { code: number; message: string }; backoff: Backoff; nextTryAt: number }
interface Group { intervalMs: number; blocks: Block[]; timer: unknown }
interface ReadResult { values: Record<string, unknown>; raw: Record<string, unknown>; errors: Record<string, { code: string; message: string }> }

const READS: Record<Point['function'], (c: ModbusRTU, a: number, n: number) => Promise<{ data: number[] | boolean[] }>> = {
  coil: async (c, a, n) => await c.readCoils(a, n),
  discrete: async (c, a, n) => await c.readDiscreteInputs(a, n),
  holding: async (c, a, n) => await c.readHoldingRegisters(a, n),
  input: async (c, a, n) => await c.readInputRegisters(a, n),
}

function changed (p: Point, last: unknown, v: unknown): boolean {
  if (typeof v === 'number' && typeof last === 'number' && p.deadband > 0) return Math.abs(v - last) >= p.deadband
  return JSON.stringify(v) !== JSON.stringify(last)
}

export class ModbusBinding extends BaseBinding {
  readonly manifest: BindingManifest = Object.freeze({ directions: ['input', 'output'] as Array<'input' | 'output'>, operations: ['read', 'write'] })
  readonly #o: ModbusOptions
  readonly #link: ModbusLink
  readonly #groups: Group[]
  readonly #points = new Map<string, Point>()
  readonly #pstate = new Map<string, PointRuntime>()
  readonly #units = new Map<number, UnitRuntime>()

  constructor (component: BindingComponent, ctx: BindingContext, options: ModbusOptions, Client: ModbusClientClass) {
    super(component.name, component.type, ctx)
    this.#o = options
    const backoff = (): Backoff => new Backoff({ initialMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs })
    for (const p of options.profile.points) {
      this.#points.set(p.name, p)
      this.#pstate.set(p.name, { hasLast: false, last: undefined, backoff: backoff(), nextTryAt: 0 })
      if (!this.#units.has(p.unitId)) this.#units.set(p.unitId, { unitId: p.unitId, state: 'unknown', timeouts: 0, unreachable: 0, exceptions: 0, backoff: backoff(), nextProbeAt: 0 })
    }
    this.#groups = planGroups(options.profile).map((g) => ({ ...g, timer: undefined }))
    this.#link = new ModbusLink(options, Client, this.clock, this.log, (s) => { this.#onLink(s) })
  }

  /** Every unit id of the profile and its health. */
  units (): UnitStatus[] {
    return [...this.#units.values()].map(({ backoff: _b, nextProbeAt: _n, ...u }) => ({ ...u }))
  }

  /** The requests one poll of each interval makes (after any split forced by exception answers). */
  plan (): Array<{ intervalMs: number; requests: Array<{ unitId: number; function: string; address: number; count: number; points: string[] }> }> {
    return this.#groups.map((g) => ({ intervalMs: g.intervalMs, requests: g.blocks.map((b) => ({ unitId: b.unitId, function: b.function, address: b.address, count: b.count, points: b.points.map((p) => p.name) })) }))
  }

  protected async _open (): Promise<void> {
    await this.#link.start()
    for (const g of this.#groups) this.#schedule(g, 0)
  }

  protected async _close (): Promise<void> {
    for (const g of this.#groups) { if (g.timer !== undefined) this.clock.clearTimeout(g.timer); g.timer = undefined }
    await this.#link.close()
  }

  #onLink (s: LinkState): void {
    if (s.type === 'connected') {
      if (s.reconnect) {
        this.countReconnect()
        // A new session: every point is reported once more, as at the start.
        for (const st of this.#pstate.values()) st.hasLast = false
      }
      this.#publishStatus()
    } else {
      this.setStatus({ type: 'disconnected', reason: s.reason, retryInMs: s.retryInMs })
    }
  }

  #publishStatus (): void {
    if (!this.#link.connected) return
    const units = [...this.#units.values()].map((u) => `unit ${u.unitId} ${u.state}`).join(', ')
    this.setStatus({ type: 'open', detail: `${this.#link.describe}; ${units}` })
  }

  #schedule (g: Group, ms: number): void {
    if (this.closed) return
    g.timer = this.clock.setTimeout(() => { void this.#tick(g) }, ms)
  }

  async #tick (g: Group): Promise<void> {
    g.timer = undefined
    if (this.closed) return
    const started = this.clock.now()
    try {
      if (this.#link.connected) {
        const out: ReadResult = { values: {}, raw: {}, errors: {} }
        for (const block of [...g.blocks]) await this.#readBlock(block, out, { poll: g })
        const report: Record<string, unknown> = {}
        const raw: Record<string, unknown> = {}
        const units: Record<string, string> = {}
        for (const [name, v] of Object.entries(out.values)) {
          const p = this.#points.get(name)!
          const st = this.#pstate.get(name)!
          if (p.report === 'always' || !st.hasLast || changed(p, st.last, v)) {
            report[name] = v
            raw[name] = out.raw[name]
            if (p.unit !== undefined) units[name] = p.unit
            st.hasLast = true
            st.last = v
          }
        }
        if (Object.keys(report).length > 0 && !this.closed) {
          this.emitEvent({ value: report, raw: JSON.stringify(raw), at: this.clock.now(), ...(Object.keys(units).length > 0 ? { fields: { units } } : {}) })
        }
      }
    } catch (err) {
      this.log.error({ err }, 'modbus poll failed')
    }
    this.#schedule(g, Math.max(0, started + g.intervalMs - this.clock.now()))
  }

  /**
   * Reads one block into `out`. In a poll (`ctx.poll`), an unreachable unit is skipped until its next probe,
   * a point with a standing exception until its next try, and a block that draws an exception is split for good.
   */
  async #readBlock (block: Block, out: ReadResult, ctx: { poll?: Group }): Promise<void> {
    const unit = this.#units.get(block.unitId)!
    const now = this.clock.now()
    if (ctx.poll !== undefined) {
      if (unit.state === 'unreachable' && now < unit.nextProbeAt) return
      const only = block.points.length === 1 ? this.#pstate.get(block.points[0]!.name)! : undefined
      if (only?.exception !== undefined && now < only.nextTryAt) return
    }
    const what = `unit ${block.unitId} ${block.function} ${block.address}${block.count > 1 ? `+${block.count}` : ''}`
    let data: number[] | boolean[]
    try {
      data = (await this.#link.request(block.unitId, what, async (c) => await READS[block.function](c, block.address, block.count))).data
    } catch (err) {
      if (!(err instanceof RequestError)) throw err
      if (err.kind === 'exception') {
        this.#unitAnswered(unit)
        unit.exceptions++
        if (block.points.length > 1) {
          const parts = splitBlock(block)
          if (ctx.poll !== undefined) {
            const i = ctx.poll.blocks.indexOf(block)
            if (i >= 0) ctx.poll.blocks.splice(i, 1, ...parts)
            this.log.info({ request: what, points: block.points.length }, 'exception to a merged request: reading its points one by one from now on')
          }
          for (const part of parts) await this.#readBlock(part, out, ctx)
          return
        }
        this.#pointException(block.points[0]!, err)
        out.errors[block.points[0]!.name] = { code: 'MECHA_ERR_MODBUS_EXCEPTION', message: err.message }
        return
      }
      if (err.kind === 'link') {
        for (const p of block.points) out.errors[p.name] = { code: 'MECHA_ERR_BINDING_UNAVAILABLE', message: err.message }
        return
      }
      this.#unitFailed(unit, err)
      for (const p of block.points) out.errors[p.name] = { code: err.kind === 'timeout' ? 'MECHA_ERR_MODBUS_UNREACHABLE' : 'MECHA_ERR_BINDING_IO', message: err.message }
      return
    }
    this.#unitAnswered(unit)
    for (const p of block.points) {
      const slice = data.slice(p.address - block.address, p.address - block.address + p.count)
      const st = this.#pstate.get(p.name)!
      if (st.exception !== undefined) { st.exception = undefined; st.backoff.reset() }
      out.values[p.name] = decodePoint(p, slice)
      out.raw[p.name] = isBits(p.function) ? (slice as boolean[]).map((b) => (b ? 1 : 0)) : slice
    }
  }

  #unitAnswered (u: UnitRuntime): void {
    if (u.state === 'ok') return
    const was = u.state
    u.state = 'ok'
    u.since = this.clock.now()
    u.backoff.reset()
    if (was === 'unreachable') {
      this.log.info({ unitId: u.unitId }, 'modbus unit answers again')
      for (const p of this.#points.values()) if (p.unitId === u.unitId) this.#pstate.get(p.name)!.hasLast = false
    }
    this.#publishStatus()
  }

  #unitFailed (u: UnitRuntime, err: RequestError): void {
    if (err.kind === 'timeout') u.timeouts++
    u.lastError = err.message
    const retryInMs = u.backoff.next()
    u.nextProbeAt = this.clock.now() + retryInMs
    if (u.state === 'unreachable') return
    u.state = 'unreachable'
    u.since = this.clock.now()
    u.unreachable++
    this.log.warn({ unitId: u.unitId, reason: err.message, retryInMs }, 'modbus unit unreachable')
    this.emitError({ code: 'MECHA_ERR_MODBUS_UNREACHABLE', message: `unit ${u.unitId} is unreachable (${err.message} after ${this.#o.retries + 1} tries of ${this.#o.timeoutMs} ms); probing again in ${retryInMs} ms`, at: this.clock.now() })
    this.#publishStatus()
  }

  #pointException (p: Point, err: RequestError): void {
    const st = this.#pstate.get(p.name)!
    const again = st.exception?.code === err.modbusCode
    st.exception = { code: err.modbusCode ?? 0, message: err.message }
    st.nextTryAt = this.clock.now() + st.backoff.next()
    if (!again) this.emitError({ code: 'MECHA_ERR_MODBUS_EXCEPTION', message: `point ${p.name}: ${err.message}`, raw: JSON.stringify({ point: p.name, exception: err.modbusCode }), at: this.clock.now() })
  }

  protected async _invoke (operation: string, data: unknown, _metadata: Record<string, string>): Promise<BindingResponse> {
    if (!this.#link.connected) throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `modbus link ${this.#link.describe} is disconnected${this.#link.reason !== undefined ? `: ${this.#link.reason}` : ''}`)
    return operation === 'read' ? await this.#read(data) : await this.#write(data)
  }

  #named (names: unknown, field: string): Point[] {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new MechaError('MECHA_ERR_BINDING_DATA', `data.${field} must be a list of point names`)
    return (names as string[]).map((n) => {
      const p = this.#points.get(n)
      if (p === undefined) throw new MechaError('MECHA_ERR_BINDING_DATA', `no point ${JSON.stringify(n)} in the profile; known: ${[...this.#points.keys()].join(', ')}`)
      return p
    })
  }

  async #read (data: unknown): Promise<BindingResponse> {
    const d = data ?? {}
    if (typeof d !== 'object' || Array.isArray(d)) throw new MechaError('MECHA_ERR_BINDING_DATA', 'read takes {"points": [names]} or nothing (every point)')
    const pts = (d as { points?: unknown }).points === undefined ? [...this.#points.values()] : this.#named((d as { points?: unknown }).points, 'points')
    const profile = { ...this.#o.profile, points: pts }
    const out: ReadResult = { values: {}, raw: {}, errors: {} }
    for (const block of planBlocks(pts, profile)) await this.#readBlock(block, out, {})
    if (Object.keys(out.values).length === 0 && pts.length > 0) {
      const first = Object.values(out.errors)[0]!
      throw new MechaError(first.code === 'MECHA_ERR_MODBUS_UNREACHABLE' ? 'MECHA_ERR_BINDING_TIMEOUT' : first.code as 'MECHA_ERR_MODBUS_EXCEPTION', `read failed: ${Object.entries(out.errors).map(([n, e]) => `${n}: ${e.message}`).join('; ')}`, { details: out.errors })
    }
    return { data: { values: out.values, errors: out.errors } }
  }

  async #write (data: unknown): Promise<BindingResponse> {
    const d = data as { point?: unknown; value?: unknown; points?: unknown } | null
    let entries: Array<[string, unknown]>
    if (d !== null && typeof d === 'object' && typeof d.point === 'string' && 'value' in d) entries = [[d.point, d.value]]
    else if (d !== null && typeof d === 'object' && typeof d.points === 'object' && d.points !== null && !Array.isArray(d.points)) entries = Object.entries(d.points)
    else throw new MechaError('MECHA_ERR_BINDING_DATA', 'write takes {"point": name, "value": v} or {"points": {name: value, …}}')
    if (entries.length === 0) throw new MechaError('MECHA_ERR_BINDING_DATA', 'write: no points given')
    // Every value is checked before the first one goes out: a bad one writes nothing.
    const jobs = entries.map(([name, value]) => {
      const p = this.#named([name], 'point')[0]!
      if (p.function !== 'holding' && p.function !== 'coil') throw new MechaError('MECHA_ERR_BINDING_DATA', `point ${name} is a ${p.function === 'input' ? 'input register' : 'discrete input'}: only coils and holding registers can be written`)
      try { return { p, words: encodePoint(p, value) } } catch (err) {
        if (err instanceof EncodeError) throw new MechaError('MECHA_ERR_BINDING_DATA', err.message)
        throw err
      }
    })
    const written: string[] = []
    for (const { p, words } of jobs) {
      const what = `write ${p.name} (unit ${p.unitId} ${p.function} ${p.address})`
      try {
        await this.#link.request(p.unitId, what, async (c) => {
          if (p.function === 'coil') {
            const bits = words as boolean[]
            return bits.length === 1 ? await c.writeCoil(p.address, bits[0]!) : await c.writeCoils(p.address, bits)
          }
          const regs = words as number[]
          // FC 6 for one register, FC 16 for several (Modbus Application Protocol V1.1b3 §6.6, §6.12).
          return regs.length === 1 ? await c.writeRegister(p.address, regs[0]!) : await c.writeRegisters(p.address, regs)
        })
      } catch (err) {
        if (!(err instanceof RequestError)) throw err
        const done = written.length > 0 ? ` (already written: ${written.join(', ')})` : ''
        if (err.kind === 'exception') throw new MechaError('MECHA_ERR_MODBUS_EXCEPTION', `${err.message}${done}`, { cause: err })
        if (err.kind === 'link') throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `${err.message}${done}`, { cause: err })
        if (err.kind === 'timeout') {
          this.#unitFailed(this.#units.get(p.unitId)!, err)
          throw new MechaError('MECHA_ERR_BINDING_TIMEOUT', `${err.message}${done}`, { cause: err })
        }
        throw new MechaError('MECHA_ERR_BINDING_IO', `${err.message}${done}`, { cause: err })
      }
      this.#unitAnswered(this.#units.get(p.unitId)!)
      written.push(p.name)
    }
    return { data: { written } }
  }
}
