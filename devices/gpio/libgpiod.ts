/**
 * The Linux GPIO character device through the libgpiod command-line tools on PATH. v1 (1.x) and v2 differ:
 * v1 takes the chip as the first argument (`gpioget CHIP OFFSET`), biases with `-B`, needs
 * `gpioset --mode=signal` to keep holding a level and `gpiomon -b` for line-buffered output; v2 takes
 * `-c CHIP`, biases with `-b`, and `gpioset` holds until killed. The version comes from `gpioget --version`.
 * Outputs: a `gpioset` child holds the line; a write replaces it. Inputs: `gpiomon` runs for as long as the
 * binding is open (killed on close) and each event line (`%e %o`, 1 = rising, 0 = falling) gives the level;
 * while it holds the line `gpioget` would be refused (busy), so reads answer the tracked level.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { GpioLine } from './backend.ts'
import type { Bias, Level } from './validate.ts'

export type GpiodVersion = 1 | 2

export interface GpiodLineSpec {
  chip: string
  offset: number
  activeLow: boolean
  bias: Bias
}

/** The major version from `gpioget --version` (`gpioget (libgpiod) v1.6.3`, `gpioget (libgpiod) v2.1.2`). */
export function parseGpiodVersion (output: string): GpiodVersion | undefined {
  const m = /libgpiod\)?\s*v?(\d+)\.\d+/i.exec(output) ?? /\bv(\d+)\.\d+/.exec(output)
  if (m === null) return undefined
  const major = Number(m[1])
  return major >= 2 ? 2 : major === 1 ? 1 : undefined
}

function common (l: GpiodLineSpec): string[] {
  const out: string[] = []
  if (l.activeLow) out.push('-l')
  if (l.bias !== 'as-is') out.push(`--bias=${l.bias}`) // v1 spells the short option -B, v2 -b; the long one is the same
  return out
}

/** The argv of one tool run; pure, so the v1/v2 differences are unit-tested without a chip. */
export function gpiodArgs (v: GpiodVersion, tool: 'get' | 'set' | 'mon', l: GpiodLineSpec, level?: Level): { cmd: string; args: string[] } {
  const off = String(l.offset)
  switch (tool) {
    case 'get':
      return { cmd: 'gpioget', args: v === 1 ? [...common(l), l.chip, off] : ['-c', l.chip, ...common(l), '--numeric', off] }
    case 'set': {
      if (level === undefined) throw new TypeError('gpioset needs a level')
      return { cmd: 'gpioset', args: v === 1 ? [...common(l), '--mode=signal', l.chip, `${off}=${level}`] : ['-c', l.chip, ...common(l), `${off}=${level}`] }
    }
    case 'mon':
      return { cmd: 'gpiomon', args: v === 1 ? [...common(l), '--line-buffered', '--format=%e %o', l.chip, off] : ['-c', l.chip, ...common(l), '--edges=both', '--format=%e %o', off] }
  }
}

/** The level after one gpiomon event line (`1 17` rising, `0 17` falling), or undefined for other lines. */
export function parseMonLine (line: string): Level | undefined {
  const m = /^\s*([01])\s+\d+\s*$/.exec(line)
  return m === null ? undefined : (m[1] === '1' ? 1 : 0)
}

function run (cmd: string, args: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`))
      else resolve(stdout)
    })
  })
}

let detected: Promise<GpiodVersion> | undefined

/** Detects the tools once per process. */
export function detectGpiod (): Promise<GpiodVersion> {
  detected ??= run('gpioget', ['--version']).then((out) => {
    const v = parseGpiodVersion(out)
    if (v === undefined) throw new Error(`unrecognised libgpiod version: ${out.split('\n')[0] ?? ''}`)
    return v
  })
  detected.catch(() => { detected = undefined })
  return detected
}

async function stop (child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL') }, 1000)
    child.once('exit', () => { clearTimeout(t); resolve() })
    child.kill('SIGTERM')
  })
}

export class LibgpiodLine implements GpioLine {
  readonly #spec: GpiodLineSpec
  readonly #direction: 'in' | 'out'
  readonly #initial: Level
  #version: GpiodVersion | undefined
  #holder: ChildProcess | undefined
  #monitor: ChildProcess | undefined
  #level: Level = 0
  #closed = false

  constructor (spec: GpiodLineSpec, direction: 'in' | 'out', initial: Level) {
    this.#spec = spec
    this.#direction = direction
    this.#initial = initial
  }

  get describe (): string { return `${this.#spec.chip} line ${this.#spec.offset} (libgpiod v${this.#version ?? '?'})` }

  async open (): Promise<void> {
    this.#version = await detectGpiod()
    if (this.#direction === 'out') await this.write(this.#initial)
    else this.#level = await this.#get()
  }

  async #get (): Promise<Level> {
    const { cmd, args } = gpiodArgs(this.#version!, 'get', this.#spec)
    const out = (await run(cmd, args)).trim()
    if (out !== '0' && out !== '1') throw new Error(`${cmd}: unexpected output ${JSON.stringify(out)}`)
    return out === '1' ? 1 : 0
  }

  async read (): Promise<Level> {
    // An output is held by our gpioset, a watched input by our gpiomon: the kernel refuses a second request.
    if (this.#direction === 'out' || this.#monitor !== undefined) return this.#level
    return await this.#get()
  }

  async write (level: Level): Promise<void> {
    if (this.#closed) throw new Error(`${this.describe} is closed`)
    await stop(this.#holder)
    const { cmd, args } = gpiodArgs(this.#version!, 'set', this.#spec, level)
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    this.#holder = child
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    // gpioset says nothing on success; it fails fast (busy line, no chip). 100 ms without an exit is success.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { child.off('exit', onExit); resolve() }, 100)
      const onExit = (code: number | null): void => { clearTimeout(t); reject(new Error(`gpioset exited (${code ?? 'signal'}): ${stderr.trim()}`)) }
      child.once('exit', onExit)
      child.once('error', (err) => { clearTimeout(t); reject(err) })
    })
    this.#level = level
  }

  watch (onLevel: (level: Level) => void, onLost: (reason: string) => void): void {
    const { cmd, args } = gpiodArgs(this.#version!, 'mon', this.#spec)
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#monitor = child
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-500) })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const level = parseMonLine(line)
      if (level === undefined) return
      this.#level = level
      onLevel(level)
    })
    child.on('error', (err) => { if (!this.#closed) onLost(`${cmd}: ${err.message}`) })
    child.on('exit', (code) => {
      if (this.#monitor === child) this.#monitor = undefined
      if (!this.#closed) onLost(`${cmd} exited (${code ?? 'signal'}): ${stderr.trim()}`)
    })
    onLevel(this.#level)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([stop(this.#monitor), stop(this.#holder)])
    this.#monitor = undefined
    this.#holder = undefined
  }
}
