/**
 * A real mosquitto for tests (the cloud broker of the cloud-bridge tests, and the anchor of the benchmarks):
 * a temp config on a free loopback port, optional password file, ACL and TLS; stop (SIGTERM, saving its
 * persistence), kill (SIGKILL), restart on the same port.
 */
import { execFile, type ChildProcess } from 'node:child_process'
import { createConnection, createServer, type AddressInfo } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { userInfo } from 'node:os'
import { promisify } from 'node:util'
import { tmpDir } from './tmp.ts'
import { spawnTracked } from './children.ts'

const execFileP = promisify(execFile)
export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto'

export interface MosquittoOptions {
  /** @default true (unless users are given) */
  allowAnonymous?: boolean
  /** username → password; written with mosquitto_passwd. */
  users?: Record<string, string>
  /** Lines of a mosquitto ACL file (`user x`, `topic write a/#`, …). */
  acl?: string[]
  /** TLS listener: PEM file paths; `requireCertificate` asks for a client certificate (mutual TLS). */
  tls?: { ca: string; cert: string; key: string; requireCertificate?: boolean }
  /** Keep sessions and queued messages across stop/start (saved on SIGTERM). @default true */
  persistence?: boolean
  /** More config lines. */
  extra?: string[]
}

/** A free loopback port: bind port 0, read it, release it. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

export class Mosquitto {
  readonly port: number
  readonly dir: string
  readonly #conf: string
  #child: ChildProcess | undefined
  #log = ''
  readonly tls: boolean

  private constructor (port: number, dir: string, conf: string, tls: boolean) {
    this.port = port; this.dir = dir; this.#conf = conf; this.tls = tls
  }

  static async start (opts: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = await tmpDir('mosquitto')
    const port = await freePort()
    const lines = [`listener ${port} 127.0.0.1`, `allow_anonymous ${String(opts.allowAnonymous ?? opts.users === undefined)}`]
    // Started as root, mosquitto drops to user `mosquitto`, who cannot read our private temp dir: stay who we are.
    if (process.getuid?.() === 0) lines.push(`user ${userInfo().username}`)
    if (opts.users !== undefined) {
      const pw = join(dir, 'passwd')
      await writeFile(pw, '')
      for (const [u, p] of Object.entries(opts.users)) await execFileP('mosquitto_passwd', ['-b', pw, u, p])
      lines.push(`password_file ${pw}`)
    }
    if (opts.acl !== undefined) {
      const acl = join(dir, 'acl')
      await writeFile(acl, opts.acl.join('\n') + '\n')
      lines.push(`acl_file ${acl}`)
    }
    if (opts.tls !== undefined) {
      lines.push(`cafile ${opts.tls.ca}`, `certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`, `require_certificate ${String(opts.tls.requireCertificate ?? false)}`)
    }
    if (opts.persistence ?? true) lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 0')
    // Unbounded queues: the tests count every message, mosquitto's default 1000-message cap would drop some.
    lines.push('max_queued_messages 0', 'max_inflight_messages 0', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice')
    lines.push(...(opts.extra ?? []))
    const conf = join(dir, 'mosquitto.conf')
    await writeFile(conf, lines.join('\n') + '\n')
    const m = new Mosquitto(port, dir, conf, opts.tls !== undefined)
    await m.#spawn()
    return m
  }

  get url (): string { return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}` }
  get log (): string { return this.#log }
  get running (): boolean { return this.#child !== undefined }
  get pid (): number | undefined { return this.#child?.pid }

  async #spawn (): Promise<void> {
    // Tracked: killed when this test process exits, or after the test that left it running (children.ts).
    const child = spawnTracked(MOSQUITTO_BIN, ['-c', this.#conf], { stdio: ['ignore', 'ignore', 'pipe'], label: `mosquitto :${this.port}` })
    this.#child = child
    child.stderr?.on('data', (d: Buffer) => { this.#log += d.toString() })
    child.on('exit', () => { if (this.#child === child) this.#child = undefined })
    const deadline = Date.now() + 10_000
    for (;;) {
      if (this.#child === undefined) throw new Error(`mosquitto exited at start:\n${this.#log}`)
      if (await canConnect(this.port)) return
      if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`mosquitto did not listen on ${this.port} within 10 s:\n${this.#log}`) }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  async #stopWith (signal: NodeJS.Signals): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
    child.kill(signal)
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 5000)
    await exited
    clearTimeout(timer)
    this.#child = undefined
  }

  /** SIGTERM: mosquitto saves its persistence and exits. */
  stop (): Promise<void> { return this.#stopWith('SIGTERM') }
  /** SIGKILL: nothing saved. */
  kill (): Promise<void> { return this.#stopWith('SIGKILL') }
  /** Starts again on the same port and config. */
  async restart (): Promise<void> { await this.stop(); await this.#spawn() }
  async startAgain (): Promise<void> { if (this.#child === undefined) await this.#spawn() }
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => { s.destroy(); resolve(false) })
  })
}
