/**
 * The legacy sysfs GPIO interface (Documentation/admin-guide/gpio/sysfs.rst): write N to `export`, wait for
 * `gpioN/`, set `active_low` and `direction` (`high`/`low` sets an output and its level in one step, glitch
 * free), read and write `value`, write N to `unexport` on close.
 *
 * Edges: the kernel signals a value change with POLLPRI on the `value` file (after writing `edge`), but Node
 * has no poll(2) on a regular file descriptor and `fs.watch` (inotify) never fires for sysfs attributes. So
 * the value is read every `pollIntervalMs` (default 10 ms) from one open descriptor with pread at offset 0 —
 * a cheap syscall on real sysfs — and changes become edges. Pulses shorter than the interval can be missed;
 * lines that need that use chip + line (libgpiod: edges timestamped by the kernel).
 */
import { access, open, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Clock } from '../../core/clock.ts'
import type { GpioLine } from './backend.ts'
import type { Level } from './validate.ts'

export interface SysfsLineOptions {
  root: string
  number: number
  direction: 'in' | 'out'
  initial: Level
  activeLow: boolean
  pollIntervalMs: number
  /** How long to wait for `gpioN/` after the export (udev may still be fixing permissions). @default 2000 */
  exportTimeoutMs?: number
}

const exists = async (p: string): Promise<boolean> => await access(p).then(() => true, () => false)

export class SysfsLine implements GpioLine {
  readonly #o: SysfsLineOptions
  readonly #clock: Clock
  readonly #dir: string
  #exportedByUs = false
  #value: FileHandle | undefined
  #poll: unknown
  #closed = false

  constructor (o: SysfsLineOptions, clock: Clock) {
    this.#o = o
    this.#clock = clock
    this.#dir = join(o.root, `gpio${o.number}`)
  }

  get describe (): string { return `sysfs gpio${this.#o.number}` }

  async open (): Promise<void> {
    const o = this.#o
    if (!(await exists(join(this.#dir, 'value')))) {
      await writeFile(join(o.root, 'export'), String(o.number))
      this.#exportedByUs = true
      const deadline = Date.now() + (o.exportTimeoutMs ?? 2000)
      while (!(await exists(join(this.#dir, 'value')))) {
        if (Date.now() > deadline) throw new Error(`gpio${o.number} did not appear under ${o.root} after export`)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
    await writeFile(join(this.#dir, 'active_low'), o.activeLow ? '1' : '0')
    if (o.direction === 'in') await writeFile(join(this.#dir, 'direction'), 'in')
    else {
      // `high`/`low` are raw levels (gpiod_direction_output_raw): invert for an active-low line.
      const raw = o.activeLow ? 1 - o.initial : o.initial
      await writeFile(join(this.#dir, 'direction'), raw === 1 ? 'high' : 'low')
    }
    this.#value = await open(join(this.#dir, 'value'), o.direction === 'in' ? 'r' : 'r+')
  }

  async read (): Promise<Level> {
    if (this.#value === undefined) throw new Error(`${this.describe} is not open`)
    const buf = Buffer.alloc(4)
    const { bytesRead } = await this.#value.read(buf, 0, 4, 0)
    const text = buf.subarray(0, bytesRead).toString('latin1').trim()
    if (text !== '0' && text !== '1') throw new Error(`${this.describe}: unexpected value ${JSON.stringify(text)}`)
    return text === '1' ? 1 : 0
  }

  async write (level: Level): Promise<void> {
    if (this.#value === undefined) throw new Error(`${this.describe} is not open`)
    // pwrite at 0: sysfs stores the whole write whatever the position; one descriptor serves every write.
    await this.#value.write(level === 1 ? '1' : '0', 0)
  }

  watch (onLevel: (level: Level) => void, onLost: (reason: string) => void): void {
    let last: Level | undefined
    const tick = async (): Promise<void> => {
      this.#poll = undefined
      if (this.#closed) return
      let level: Level
      try { level = await this.read() } catch (err) { if (!this.#closed) onLost((err as Error).message); return }
      if (this.#closed) return
      if (level !== last) { last = level; onLevel(level) }
      this.#poll = this.#clock.setTimeout(() => { void tick() }, this.#o.pollIntervalMs)
    }
    void tick()
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#poll !== undefined) this.#clock.clearTimeout(this.#poll)
    await this.#value?.close().catch(() => {})
    this.#value = undefined
    if (this.#exportedByUs) {
      this.#exportedByUs = false
      await writeFile(join(this.#o.root, 'unexport'), String(this.#o.number)).catch(() => {})
    }
  }
}
