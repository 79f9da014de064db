/**
 * One Modbus link — a serial port (RTU) or a TCP connection — shared by every unit id on it, over
 * modbus-serial. Requests run one at a time with `interFrameGapMs` of silence between exchanges (a serial
 * bus is half-duplex; a late answer must not meet the next request), each with its own timeout and retries.
 * A request that times out is that unit's problem and never resets the link; only the link itself closing
 * (TCP peer gone, adapter unplugged) or failing to open does, and then it reopens with exponential backoff
 * plus jitter (core/backoff.ts, CONVENTIONS 6).
 */
import type * as ModbusSerial from 'modbus-serial'
import { Backoff } from '../../core/backoff.ts'
import type { Clock } from '../../core/clock.ts'
import type { Logger } from '../../core/logger.ts'
import type { ModbusOptions } from './validate.ts'

/** The client class; modbus-serial is CommonJS, so under `nodenext` its class is the module's `default.default`. */
export type ModbusRTU = InstanceType<typeof ModbusSerial.default.default>
export type ModbusClientClass = new () => ModbusRTU

/** Modbus exception codes (Modbus Application Protocol V1.1b3 §7). */
export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'illegal function', 2: 'illegal data address', 3: 'illegal data value', 4: 'server device failure',
  5: 'acknowledge', 6: 'server device busy', 8: 'memory parity error', 10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
}

export type RequestErrorKind = 'timeout' | 'exception' | 'link' | 'io'

/** Why one request failed: no answer, an exception answer, the link is down, or a garbled answer. */
export class RequestError extends Error {
  constructor (readonly kind: RequestErrorKind, message: string, readonly modbusCode?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'RequestError'
  }
}

export type LinkState =
  | { type: 'connected'; reconnect: boolean }
  | { type: 'disconnected'; reason: string; retryInMs: number }

function classify (err: unknown, what: string): RequestError {
  const e = err as { message?: string; errno?: string; modbusCode?: number; name?: string }
  if (typeof e?.modbusCode === 'number') {
    return new RequestError('exception', `${what}: exception ${e.modbusCode} (${EXCEPTION_NAMES[e.modbusCode] ?? 'unknown'})`, e.modbusCode, err)
  }
  if (e?.errno === 'ETIMEDOUT') return new RequestError('timeout', `${what}: no answer`, undefined, err)
  if (e?.name === 'PortNotOpenError' || e?.errno === 'ECONNREFUSED') return new RequestError('link', `${what}: the link is not open`, undefined, err)
  return new RequestError('io', `${what}: ${e?.message ?? String(err)}`, undefined, err)
}

export class ModbusLink {
  readonly #o: ModbusOptions
  readonly #Client: ModbusClientClass
  readonly #clock: Clock
  readonly #log: Logger
  readonly #onState: (s: LinkState) => void
  readonly #backoff: Backoff
  #client: ModbusRTU | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #lastEnd = 0
  #retry: unknown
  #closed = false
  #everConnected = false
  #reason: string | undefined

  constructor (o: ModbusOptions, Client: ModbusClientClass, clock: Clock, log: Logger, onState: (s: LinkState) => void) {
    this.#o = o
    this.#Client = Client
    this.#clock = clock
    this.#log = log
    this.#onState = onState
    this.#backoff = new Backoff({ initialMs: o.reconnectMinMs, maxMs: o.reconnectMaxMs })
  }

  get connected (): boolean { return this.#client !== undefined }
  get reason (): string | undefined { return this.#reason }

  get describe (): string {
    const l = this.#o.link
    return l.kind === 'tcp' ? `tcp ${l.host}:${l.port}` : `rtu ${l.path} ${l.baudRate} ${l.dataBits}${l.parity[0]!.toUpperCase()}${l.stopBits}`
  }

  /** The first connect attempt; a failure is not thrown but reported and retried. */
  async start (): Promise<void> { await this.#connect() }

  async #connect (): Promise<void> {
    this.#retry = undefined
    if (this.#closed) return
    const client = new this.#Client()
    // modbus-serial re-emits port errors; an EventEmitter 'error' with no listener would throw.
    client.on('error', (err: unknown) => { this.#log.debug({ err }, 'modbus port error') })
    const l = this.#o.link
    try {
      if (l.kind === 'tcp') await client.connectTCP(l.host, { port: l.port, timeout: Math.max(this.#o.timeoutMs, 1000) })
      else await client.connectRTUBuffered(l.path, { baudRate: l.baudRate, dataBits: l.dataBits, parity: l.parity, stopBits: l.stopBits })
    } catch (err) {
      this.#drop(client)
      this.#lost(`cannot open ${this.describe}: ${(err as Error)?.message ?? String(err)}`)
      return
    }
    if (this.#closed) { this.#drop(client); return }
    this.#client = client
    client.on('close', () => { if (this.#client === client) this.#lost(`${this.describe} closed`) })
    const reconnect = this.#everConnected
    this.#everConnected = true
    this.#reason = undefined
    this.#backoff.reset()
    this.#onState({ type: 'connected', reconnect })
  }

  #drop (client: ModbusRTU): void {
    try { client.close(() => {}) } catch { /* already closed */ }
    try { (client as unknown as { destroy?: (cb: () => void) => void }).destroy?.(() => {}) } catch { /* already gone */ }
  }

  /** The link went away (or never came): drop the client, retry later. Requests meanwhile fail as `link`. */
  #lost (reason: string): void {
    const client = this.#client
    this.#client = undefined
    if (client !== undefined) this.#drop(client)
    if (this.#closed) return
    this.#reason = reason
    const retryInMs = this.#backoff.next()
    if (this.#backoff.attempt === 1) this.#log.warn({ reason, retryInMs }, 'modbus link down')
    if (this.#retry !== undefined) this.#clock.clearTimeout(this.#retry)
    this.#retry = this.#clock.setTimeout(() => { void this.#connect() }, retryInMs)
    this.#onState({ type: 'disconnected', reason, retryInMs })
  }

  /** Runs `fn` against unit `unitId` after the requests queued before it, with timeout, gap and retries. */
  async request<T> (unitId: number, what: string, fn: (c: ModbusRTU) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => await this.#attempts(unitId, what, fn))
    this.#queue = run.catch(() => {})
    return await run
  }

  async #attempts<T> (unitId: number, what: string, fn: (c: ModbusRTU) => Promise<T>): Promise<T> {
    let last: RequestError | undefined
    for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
      const client = this.#client
      if (client === undefined || this.#closed) throw new RequestError('link', `${what}: ${this.describe} is ${this.#closed ? 'closed' : `disconnected${this.#reason !== undefined ? ` (${this.#reason})` : ''}`}`)
      const wait = this.#lastEnd + this.#o.interFrameGapMs - this.#clock.now()
      if (wait > 0) await new Promise<void>((resolve) => { this.#clock.setTimeout(resolve, wait) })
      client.setID(unitId)
      client.setTimeout(this.#o.timeoutMs)
      try {
        return await fn(client)
      } catch (err) {
        last = classify(err, what)
        if (last.kind === 'link' && this.#client === client) this.#lost(last.message)
        if (last.kind === 'exception' || last.kind === 'link') throw last
      } finally {
        this.#lastEnd = this.#clock.now()
      }
    }
    throw last!
  }

  async close (): Promise<void> {
    this.#closed = true
    if (this.#retry !== undefined) { this.#clock.clearTimeout(this.#retry); this.#retry = undefined }
    const client = this.#client
    this.#client = undefined
    await this.#queue
    if (client === undefined) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { this.#drop(client); resolve() }, 1000)
      try {
        client.close(() => { clearTimeout(t); resolve() })
      } catch { clearTimeout(t); resolve() }
    })
  }
}
