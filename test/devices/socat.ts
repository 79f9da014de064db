/** A pair of linked pseudo-terminals made by socat: the binding opens `a`, the test plays the device on `b`. */
import { spawn, type ChildProcess } from 'node:child_process'
import { access } from 'node:fs/promises'
import type { SerialPort } from 'serialport'

export interface PtyPair { a: string; b: string; proc: ChildProcess; kill(): Promise<void> }

const exists = async (p: string): Promise<boolean> => await access(p).then(() => true, () => false)

export async function ptyPair (a: string, b: string): Promise<PtyPair> {
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString() })
  const deadline = Date.now() + 5000
  while (!(await exists(a)) || !(await exists(b)) || !log.includes('starting data transfer loop')) {
    if (proc.exitCode !== null || Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`socat did not start: ${log}`) }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const kill = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    await new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }); proc.kill('SIGTERM') })
  }
  return { a, b, proc, kill }
}

/** The device end (a SerialPort on `b`, non-blocking): write lines, read what the binding sent. */
export class DeviceEnd {
  readonly #port: SerialPort
  #buf = ''
  private constructor (port: SerialPort) {
    this.#port = port
    port.on('data', (d: Buffer) => { this.#buf += d.toString('latin1') })
    port.on('error', () => {})
  }

  static async open (path: string): Promise<DeviceEnd> {
    const { SerialPort } = await import('serialport')
    const port = new SerialPort({ path, baudRate: 9600, autoOpen: false })
    await new Promise<void>((resolve, reject) => { port.open((err) => { if (err != null) reject(err); else resolve() }) })
    return new DeviceEnd(port)
  }

  async write (data: string | Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#port.write(data, (err) => { if (err != null) reject(err) })
      this.#port.drain((err) => { if (err != null) reject(err); else resolve() })
    })
  }

  /** Resolves with what arrived once it contains `text` (bounded). */
  async waitFor (text: string, ms = 3000): Promise<string> {
    const deadline = Date.now() + ms
    while (!this.#buf.includes(text)) {
      if (Date.now() > deadline) throw new Error(`device end did not receive ${JSON.stringify(text)}; got ${JSON.stringify(this.#buf)}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const out = this.#buf
    this.#buf = ''
    return out
  }

  async close (): Promise<void> {
    if (!this.#port.isOpen) return
    await new Promise<void>((resolve) => { this.#port.close(() => { resolve() }) })
  }
}
