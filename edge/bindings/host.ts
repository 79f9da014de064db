/**
 * The bindings of a running gateway (DESIGN: "Devices on the local broker"). For each binding component it
 * creates the binding through the registry and wires it to the local bus: events as JSON
 * `{binding, ts, value, raw, ...fields}` on `devices/{name}/events`, problems on `devices/{name}/errors`,
 * commands `{operation, data, metadata, correlationId}` from `devices/{name}/commands` with replies on
 * `devices/{name}/replies` (topics per component: metadata `eventsTopic`, `errorsTopic`, `commandsTopic`,
 * `repliesTopic`). Given `deliverToApp`, input events also go to the app (`POST /{name}` or `route`), in
 * order per binding. `reconfigure` touches only what changed (CONVENTIONS 15). Edge imports core only: the
 * composition root passes the registry that knows the device drivers.
 */
import { createHash } from 'node:crypto'
import type { Binding, BindingComponent, BindingContext, BindingCounters, BindingManifest, BindingResponse, BindingStatus } from '../../core/bindings/types.ts'
import type { BusMessage, LocalBus } from '../../core/bus.ts'
import type { Clock } from '../../core/clock.ts'
import { MechaError, isMechaError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import type { DeliverToApp } from './deliver.ts'

export interface BindingCreator { create(component: BindingComponent, ctx: BindingContext): Promise<Binding> }

export interface BindingHostOptions {
  registry: BindingCreator
  bus: LocalBus
  log: Logger
  clock?: Clock
  deliverToApp?: DeliverToApp
  /** Events waiting for the app, per binding, beyond which the oldest are dropped (counted). @default 1000 */
  maxQueuedDeliveries?: number
}

export interface BindingTopics { events: string; errors: string; commands: string; replies: string }

export interface HostedBindingInfo {
  name: string
  type: string
  status: BindingStatus
  counters: BindingCounters & { deliveryDropped: number }
  manifest?: BindingManifest
  topics: BindingTopics
  /** The last few events as published (newest last), for the UI's Devices page. */
  lastEvents: Array<{ ts: string; value?: unknown; raw?: string }>
}

interface Entry {
  component: BindingComponent
  hash: string
  topics: BindingTopics
  binding?: Binding
  failure?: string
  unsubscribe?: () => Promise<void>
  deliveries: Promise<void>
  queued: number
  deliveryDropped: number
  recent: Array<{ ts: string; value?: unknown; raw?: string }>
}

/** Stable across metadata order: what decides "changed" on reconfigure. */
export function componentHash (c: BindingComponent): string {
  const meta = Object.keys(c.metadata).sort().map((k) => [k, c.metadata[k]])
  return createHash('sha256').update(JSON.stringify([c.type, meta])).digest('hex').slice(0, 16)
}

export function topicsFor (c: BindingComponent): BindingTopics {
  const base = `devices/${c.name}`
  return {
    events: c.metadata.eventsTopic ?? `${base}/events`,
    errors: c.metadata.errorsTopic ?? `${base}/errors`,
    commands: c.metadata.commandsTopic ?? `${base}/commands`,
    replies: c.metadata.repliesTopic ?? `${base}/replies`,
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Events kept per binding for the Devices page. */
const RECENT_EVENTS = 10

export class BindingHost {
  readonly #o: BindingHostOptions
  readonly #entries = new Map<string, Entry>()
  #closed = false
  #changing: Promise<unknown> = Promise.resolve()

  private constructor (o: BindingHostOptions) { this.#o = o }

  static async create (o: BindingHostOptions, components: readonly BindingComponent[]): Promise<BindingHost> {
    const host = new BindingHost(o)
    await host.reconfigure(components)
    return host
  }

  names (): string[] { return [...this.#entries.keys()].sort() }
  get (name: string): Binding | undefined { return this.#entries.get(name)?.binding }

  status (): HostedBindingInfo[] {
    return this.names().map((name) => {
      const e = this.#entries.get(name)!
      const b = e.binding
      return {
        name, type: e.component.type,
        status: b?.status.current ?? { type: 'error', reason: e.failure ?? 'not created' },
        counters: { ...(b?.counters() ?? { events: 0, errors: 0, reconnects: 0, invokes: 0 }), deliveryDropped: e.deliveryDropped },
        ...(b !== undefined ? { manifest: b.manifest } : {}),
        topics: e.topics,
        lastEvents: [...e.recent],
      }
    })
  }

  /** An output operation by binding name (the HTTP route and MQTT commands both come here). */
  async invoke (name: string, operation: string, data: unknown, metadata: Record<string, string> = {}): Promise<BindingResponse> {
    const e = this.#entries.get(name)
    if (e === undefined) throw new MechaError('ERR_BINDING_NOT_FOUND', `couldn't find output binding ${name}`)
    if (e.binding === undefined) throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `binding ${name} could not be created: ${e.failure ?? 'unknown'}`)
    return await e.binding.invoke(operation, data, metadata)
  }

  /** Opens added components, closes removed ones, recreates changed ones (type or metadata); leaves the rest alone. */
  async reconfigure (next: readonly BindingComponent[]): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const run = this.#changing.then(async () => await this.#reconfigure(next))
    this.#changing = run.catch(() => {})
    return await run
  }

  async #reconfigure (next: readonly BindingComponent[]): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    if (this.#closed) throw new MechaError('MECHA_ERR_NOT_READY', 'the binding host is closed')
    const wanted = new Map(next.map((c) => [c.name, c]))
    const added: string[] = []; const removed: string[] = []; const changed: string[] = []
    for (const [name, e] of this.#entries) {
      const c = wanted.get(name)
      if (c === undefined) removed.push(name)
      else if (componentHash(c) !== e.hash) changed.push(name)
    }
    for (const name of wanted.keys()) if (!this.#entries.has(name)) added.push(name)
    await Promise.all([...removed, ...changed].map(async (name) => { await this.#stop(name) }))
    await Promise.all([...changed, ...added].map(async (name) => { await this.#start(wanted.get(name)!) }))
    return { added, removed, changed }
  }

  async #start (component: BindingComponent): Promise<void> {
    const e: Entry = { component, hash: componentHash(component), topics: topicsFor(component), deliveries: Promise.resolve(), queued: 0, deliveryDropped: 0, recent: [] }
    this.#entries.set(component.name, e)
    const log = this.#o.log.child({ binding: component.name })
    let b: Binding
    try {
      b = await this.#o.registry.create(component, { log, ...(this.#o.clock !== undefined ? { clock: this.#o.clock } : {}) })
    } catch (err) {
      // One unusable binding must not stop the others (DESIGN: guarantees).
      e.failure = (err as Error).message
      log.error({ err }, 'binding cannot be created')
      return
    }
    e.binding = b
    b.onEvent = (ev) => {
      const body = { binding: component.name, ts: new Date(ev.at).toISOString(), value: ev.value, ...(ev.raw !== undefined ? { raw: ev.raw } : {}), ...ev.fields }
      const payload = Buffer.from(JSON.stringify(body))
      e.recent.push({ ts: body.ts, value: ev.value, ...(ev.raw !== undefined ? { raw: ev.raw } : {}) })
      if (e.recent.length > RECENT_EVENTS) e.recent.shift()
      this.#publish({ topic: e.topics.events, payload, qos: 1, retain: false })
      this.#deliver(e, payload)
    }
    b.onError = (ev) => {
      const body = { binding: component.name, ts: new Date(ev.at).toISOString(), code: ev.code, message: ev.message, ...(ev.raw !== undefined ? { raw: ev.raw } : {}) }
      this.#publish({ topic: e.topics.errors, payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false })
    }
    if (b.manifest.operations.length > 0) {
      e.unsubscribe = await this.#o.bus.subscribe(e.topics.commands, async (msg) => { await this.#command(e, b, msg) })
    }
    try { await b.open() } catch (err) {
      e.failure = (err as Error).message
      log.error({ err }, 'binding cannot be opened')
    }
  }

  async #command (e: Entry, b: Binding, msg: BusMessage): Promise<void> {
    let req: unknown
    try { req = JSON.parse(msg.payload.toString('utf8')) } catch { req = undefined }
    const correlationId = isObject(req) && (typeof req.correlationId === 'string' || typeof req.correlationId === 'number') ? req.correlationId : undefined
    const reply = (body: Record<string, unknown>): void => {
      this.#publish({ topic: e.topics.replies, payload: Buffer.from(JSON.stringify({ binding: e.component.name, ...(correlationId !== undefined ? { correlationId } : {}), ...body })), qos: 1, retain: false })
    }
    if (!isObject(req) || typeof req.operation !== 'string') {
      reply({ ok: false, error: { code: 'MECHA_ERR_BINDING_DATA', message: 'a command is JSON {"operation", "data", "metadata", "correlationId"}' } })
      return
    }
    const metadata: Record<string, string> = {}
    if (isObject(req.metadata)) for (const [k, v] of Object.entries(req.metadata)) metadata[k] = String(v)
    try {
      const r = await b.invoke(req.operation, req.data, metadata)
      reply({ ok: true, ...(r.data !== undefined ? { data: Buffer.isBuffer(r.data) ? r.data.toString('base64') : r.data } : {}), ...(r.metadata !== undefined ? { metadata: r.metadata } : {}) })
    } catch (err) {
      reply({ ok: false, error: { code: isMechaError(err) ? err.code : 'MECHA_ERR_DEVICE', message: (err as Error).message } })
    }
  }

  #publish (msg: BusMessage): void {
    this.#o.bus.publish({ ...msg, origin: 'bindings' }).catch((err: unknown) => {
      this.#o.log.warn({ err, topic: msg.topic }, 'binding message not accepted by the bus')
    })
  }

  #deliver (e: Entry, payload: Buffer): void {
    const deliver = this.#o.deliverToApp
    if (deliver === undefined || !e.binding!.manifest.directions.includes('input')) return
    if (e.queued >= (this.#o.maxQueuedDeliveries ?? 1000)) { e.deliveryDropped++; return }
    e.queued++
    const route = e.component.metadata.route ?? `/${e.component.name}`
    e.deliveries = e.deliveries.then(async () => {
      try { if (!(await deliver(e.component.name, route, payload))) e.deliveryDropped++ } catch { e.deliveryDropped++ } finally { e.queued-- }
    })
  }

  async #stop (name: string): Promise<void> {
    const e = this.#entries.get(name)
    if (e === undefined) return
    this.#entries.delete(name)
    await e.unsubscribe?.().catch(() => {})
    await e.binding?.close().catch((err: unknown) => { this.#o.log.warn({ err, binding: name }, 'binding close failed') })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    await this.#changing
    this.#closed = true
    await Promise.all(this.names().map(async (n) => { await this.#stop(n) }))
  }
}
