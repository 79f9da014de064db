/**
 * `bindings.serial`: a serial port (USB adapter, SoC UART) on the `serialport` package, which is imported only
 * here, when the first serial binding is created (CONVENTIONS 13). Frames in become events; `write` and
 * `request` go out one at a time (BaseBinding serialises them). When the port closes under us — the adapter
 * was unplugged — the binding reports `disconnected` and reopens with exponential backoff plus jitter; the
 * partial frame from before the loss is dropped, and everything the device sends once the port is open again
 * arrives (opening flushes the OS buffers, as any serial open does, so bytes sent while unplugged are gone).
 */
import type { SerialPort } from 'serialport'
import { Backoff } from '../../core/backoff.ts'
import { BaseBinding } from '../../core/bindings/base.ts'
import type { BindingComponent, BindingContext, BindingManifest, BindingResponse } from '../../core/bindings/types.ts'
import { MechaError } from '../../core/errors.ts'
import { decodeFrame, encodeData, FrameError } from './codec.ts'
import { Framer } from './framing.ts'
import type { SerialOptions } from './validate.ts'

type SerialPortClass = typeof SerialPort

interface Waiter { resolve: (r: BindingResponse) => void; reject: (err: Error) => void }

/** Raw text goes into a reply's metadata only when it can be an HTTP header value. */
const HEADER_SAFE = /^[\x20-\x7e]{0,1024}$/

export class SerialBinding extends BaseBinding {
  readonly manifest: BindingManifest = Object.freeze({ directions: ['input', 'output'] as Array<'input' | 'output'>, operations: ['write', 'request'] })
  readonly #o: SerialOptions
  readonly #Port: SerialPortClass
  readonly #framer: Framer
  readonly #backoff: Backoff
  #port: SerialPort | undefined
  #retry: unknown
  #lostReason: string | undefined
  #everOpen = false
  #waiter: Waiter | undefined

  constructor (component: BindingComponent, ctx: BindingContext, options: SerialOptions, Port: SerialPortClass) {
    super(component.name, component.type, ctx)
    this.#o = options
    this.#Port = Port
    this.#backoff = new Backoff({ initialMs: options.reconnectMinMs, maxMs: options.reconnectMaxMs })
    this.#framer = new Framer(options, this.clock, (f) => { this.#onFrame(f) }, (dropped) => {
      this.emitError({ code: 'MECHA_ERR_BINDING_FRAME', message: `frame longer than maxFrameBytes (${options.maxFrameBytes}) dropped`, raw: dropped.subarray(0, 64).toString('hex'), at: this.clock.now() })
    })
  }

  protected async _open (): Promise<void> { await this.#connect() }

  async #connect (): Promise<void> {
    this.#retry = undefined
    if (this.closed) return
    const o = this.#o
    const port = new this.#Port({
      path: o.path, baudRate: o.baudRate, dataBits: o.dataBits, parity: o.parity, stopBits: o.stopBits, rtscts: o.rtscts, autoOpen: false,
    })
    try {
      await new Promise<void>((resolve, reject) => { port.open((err) => { if (err != null) reject(err); else resolve() }) })
    } catch (err) {
      this.#lost(`cannot open ${o.path}: ${(err as Error).message}`)
      return
    }
    if (this.closed) { port.close(() => {}); return }
    this.#port = port
    this.#framer.reset()
    port.on('data', (chunk: Buffer) => { this.#framer.push(chunk) })
    port.on('error', (err: Error) => {
      this.log.warn({ err }, 'serial port error')
      if (!port.isOpen && this.#port === port) this.#lost(err.message)
    })
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      if (this.#port !== port) return
      this.#lost(err?.message ?? 'the port closed')
    })
    if (this.#lostReason !== undefined && this.#everOpen) this.countReconnect()
    this.#everOpen = true
    this.#lostReason = undefined
    this.#backoff.reset()
    this.setStatus({ type: 'open', detail: o.path })
  }

  /** The device went away (or never came): drop the port, fail a pending request, retry later. */
  #lost (reason: string): void {
    const port = this.#port
    this.#port = undefined
    if (port !== undefined) { port.removeAllListeners('data'); if (port.isOpen) port.close(() => {}) }
    this.#framer.reset()
    this.#waiter?.reject(new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `serial port ${this.#o.path} disconnected: ${reason}`))
    this.#waiter = undefined
    if (this.closed) return
    this.#lostReason = reason
    const retryInMs = this.#backoff.next()
    if (this.#backoff.attempt === 1) this.log.warn({ reason, retryInMs }, 'serial port disconnected')
    this.setStatus({ type: 'disconnected', reason, retryInMs })
    if (this.#retry !== undefined) this.clock.clearTimeout(this.#retry)
    this.#retry = this.clock.setTimeout(() => { void this.#connect() }, retryInMs)
  }

  #onFrame (frame: Buffer): void {
    const at = this.clock.now()
    let decoded: { value: unknown; raw: string }
    try {
      decoded = decodeFrame(frame, this.#o)
    } catch (err) {
      const raw = frame.toString(this.#o.encoding === 'utf8' ? 'utf8' : 'hex')
      const message = err instanceof FrameError ? err.message : String(err)
      const waiter = this.#waiter
      this.#waiter = undefined
      if (waiter !== undefined) waiter.reject(new MechaError('MECHA_ERR_BINDING_FRAME', `the reply cannot be parsed: ${message}`))
      this.emitError({ code: 'MECHA_ERR_BINDING_FRAME', message, raw, at })
      return
    }
    const waiter = this.#waiter
    if (waiter !== undefined) {
      // The reply to a request is the request's answer, not an input event.
      this.#waiter = undefined
      waiter.resolve({ data: decoded.value, metadata: HEADER_SAFE.test(decoded.raw) ? { raw: decoded.raw } : {} })
      return
    }
    this.emitEvent({ value: decoded.value, raw: decoded.raw, at })
  }

  protected async _invoke (operation: string, data: unknown, metadata: Record<string, string>): Promise<BindingResponse> {
    const port = this.#port
    if (port === undefined || !port.isOpen) {
      throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `serial port ${this.#o.path} is disconnected${this.#lostReason !== undefined ? `: ${this.#lostReason}` : ''}`)
    }
    let bytes = encodeData(data, this.#o.encoding)
    const append = metadata.appendDelimiter === undefined ? this.#o.appendDelimiter : metadata.appendDelimiter === 'true'
    if (append) bytes = Buffer.concat([bytes, this.#o.delimiter])
    if (operation === 'write') {
      await this.#write(port, bytes)
      return {}
    }
    const timeoutMs = metadata.timeoutMs === undefined ? this.#o.requestTimeoutMs : Number(metadata.timeoutMs)
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= 600_000)) throw new MechaError('MECHA_ERR_BINDING_DATA', 'metadata.timeoutMs must be an integer of milliseconds (1–600000)')
    let timer: unknown
    const reply = new Promise<BindingResponse>((resolve, reject) => {
      this.#waiter = { resolve, reject }
      timer = this.clock.setTimeout(() => {
        this.#waiter = undefined
        reject(new MechaError('MECHA_ERR_BINDING_TIMEOUT', `no reply from ${this.#o.path} within ${timeoutMs} ms`))
      }, timeoutMs)
    })
    reply.catch(() => {})
    try {
      await this.#write(port, bytes)
      return await reply
    } finally {
      this.clock.clearTimeout(timer)
      this.#waiter = undefined
    }
  }

  async #write (port: SerialPort, bytes: Buffer): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) => {
        port.write(bytes, (err) => { if (err != null) reject(err) })
        port.drain((err) => { if (err != null) reject(err); else resolve() })
      })
    } catch (err) {
      if (this.#port !== port) throw new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `serial port ${this.#o.path} disconnected during the write`, { cause: err })
      throw new MechaError('MECHA_ERR_BINDING_IO', `write to ${this.#o.path} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  protected async _close (): Promise<void> {
    if (this.#retry !== undefined) { this.clock.clearTimeout(this.#retry); this.#retry = undefined }
    this.#framer.reset()
    this.#waiter?.reject(new MechaError('MECHA_ERR_BINDING_UNAVAILABLE', `binding ${this.name} closed`))
    this.#waiter = undefined
    const port = this.#port
    this.#port = undefined
    if (port?.isOpen === true) await new Promise<void>((resolve) => { port.close(() => { resolve() }) })
  }
}
