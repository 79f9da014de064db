/**
 * mosquitto 2, the anchor: a temp config on a free loopback port, started and stopped through the shared child
 * helper (SIGTERM, then SIGKILL after a timeout), restartable on the same port with the same persistence.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { startChild, type Child } from './child.ts'
import { freePort, waitPort } from './proc.ts'

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto'

/** Why the mosquitto anchor cannot run here, or undefined when it can. */
export function mosquittoMissing (): string | undefined {
  return existsSync(MOSQUITTO_BIN) ? undefined : `mosquitto not installed (${MOSQUITTO_BIN}; apt-get install mosquitto, or set MOSQUITTO_BIN)`
}

export interface MosquittoOptions {
  /** Keep sessions and queues across restarts. @default false */
  persistence?: boolean
  /** Extra config lines (a bridge `connection` section, autosave settings …). */
  extra?: string[]
  name?: string
}

export class BenchMosquitto {
  readonly port: number
  readonly dir: string
  readonly name: string
  readonly #conf: string
  #child: Child | undefined

  private constructor (name: string, port: number, dir: string, conf: string) { this.name = name; this.port = port; this.dir = dir; this.#conf = conf }

  static async start (opts: MosquittoOptions = {}): Promise<BenchMosquitto> {
    const dir = await mkdtemp(join(tmpdir(), 'bench-mosq-'))
    const port = await freePort()
    const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'log_dest stderr', 'log_type error', 'log_type warning',
      // Unlimited queues and in-flight windows: the benchmarks count every message.
      'max_queued_messages 0', 'max_inflight_messages 0', 'max_connections -1']
    // Started as root, mosquitto would drop to user `mosquitto`, who cannot read our temp dir: stay who we are.
    if (process.getuid?.() === 0) lines.push(`user ${userInfo().username}`)
    if (opts.persistence === true) lines.push('persistence true', `persistence_location ${dir}/`)
    lines.push(...(opts.extra ?? []))
    const conf = join(dir, 'mosquitto.conf')
    await writeFile(conf, lines.join('\n') + '\n')
    const m = new BenchMosquitto(opts.name ?? 'mosquitto', port, dir, conf)
    await m.startAgain()
    return m
  }

  get url (): string { return `mqtt://127.0.0.1:${this.port}` }
  get pid (): number { return this.#child?.pid ?? -1 }
  get running (): boolean { return this.#child?.running === true }
  /** The current process's recent output (its log on stderr). */
  output (): string { return this.#child?.output() ?? '' }

  /** Starts it (again) on the same port and config; resolves once the port accepts connections. */
  async startAgain (timeoutMs = 10_000): Promise<void> {
    if (this.running) return
    const child = startChild(this.name, MOSQUITTO_BIN, ['-c', this.#conf])
    this.#child = child
    if (!await waitPort(this.port, timeoutMs, () => child.running)) {
      await child.kill9()
      throw new Error(`${this.name} did not listen on ${this.port} within ${timeoutMs} ms:\n${child.output()}`)
    }
  }

  /** SIGTERM (mosquitto saves its persistence), SIGKILL after `timeoutMs`. */
  async stop (timeoutMs = 5000): Promise<void> { await this.#child?.stop(timeoutMs) }
  async kill9 (): Promise<void> { await this.#child?.kill9() }
  async close (): Promise<void> { await this.stop(); await rm(this.dir, { recursive: true, force: true }) }
}
