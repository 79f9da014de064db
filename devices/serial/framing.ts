/**
 * Cuts the byte stream of a port into frames: at a delimiter, every `length` bytes, after a silence of
 * `interByteTimeoutMs`, or each chunk as it comes (`raw`). `reset()` drops a partial frame — on reconnect,
 * so the tail of a frame from before an unplug never glues onto the first frame after it.
 */
import type { Clock } from '../../core/clock.ts'
import type { Framing } from './validate.ts'

export interface FramerOptions {
  framing: Framing
  delimiter: Buffer
  stripCR: boolean
  length: number
  interByteTimeoutMs: number
  maxFrameBytes: number
}

export class Framer {
  readonly #o: FramerOptions
  readonly #clock: Clock
  readonly #onFrame: (frame: Buffer) => void
  readonly #onOverflow: (dropped: Buffer) => void
  #buf: Buffer = Buffer.alloc(0)
  #timer: unknown

  constructor (o: FramerOptions, clock: Clock, onFrame: (frame: Buffer) => void, onOverflow: (dropped: Buffer) => void) {
    this.#o = o
    this.#clock = clock
    this.#onFrame = onFrame
    this.#onOverflow = onOverflow
  }

  push (chunk: Buffer): void {
    const o = this.#o
    if (o.framing === 'raw') { if (chunk.length > 0) this.#onFrame(chunk); return }
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    if (o.framing === 'length') {
      while (this.#buf.length >= o.length) {
        const frame = this.#buf.subarray(0, o.length)
        this.#buf = this.#buf.subarray(o.length)
        this.#onFrame(frame)
      }
      return
    }
    if (o.framing === 'timeout') {
      if (this.#buf.length >= o.maxFrameBytes) { this.#flush(); return }
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
      this.#timer = this.#clock.setTimeout(() => { this.#timer = undefined; this.#flush() }, o.interByteTimeoutMs)
      return
    }
    for (let i = this.#buf.indexOf(o.delimiter); i !== -1; i = this.#buf.indexOf(o.delimiter)) {
      let frame = this.#buf.subarray(0, i)
      this.#buf = this.#buf.subarray(i + o.delimiter.length)
      if (o.stripCR && frame.length > 0 && frame[frame.length - 1] === 0x0d) frame = frame.subarray(0, frame.length - 1)
      if (frame.length > o.maxFrameBytes) this.#onOverflow(frame)
      else this.#onFrame(frame)
    }
    // A device that never sends the delimiter must not fill memory: drop what cannot become a valid frame.
    if (this.#buf.length > o.maxFrameBytes + o.delimiter.length) {
      const dropped = this.#buf
      this.#buf = Buffer.alloc(0)
      this.#onOverflow(dropped)
    }
  }

  #flush (): void {
    if (this.#timer !== undefined) { this.#clock.clearTimeout(this.#timer); this.#timer = undefined }
    if (this.#buf.length === 0) return
    const frame = this.#buf
    this.#buf = Buffer.alloc(0)
    this.#onFrame(frame)
  }

  reset (): void {
    if (this.#timer !== undefined) { this.#clock.clearTimeout(this.#timer); this.#timer = undefined }
    this.#buf = Buffer.alloc(0)
  }
}
