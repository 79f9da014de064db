import { execFile } from 'node:child_process'
import { access, constants } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { systemClock, type Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'

export interface NotifierOptions {
  /** @default process.env (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, PATH) */
  env?: NodeJS.ProcessEnv
  /** @default 'systemd-notify', looked up on PATH */
  command?: string
  /** Runs the command (tests record the calls). @default execFile with a 5 s timeout */
  run?: (command: string, args: string[]) => Promise<void>
  clock?: Clock
  log?: Logger
  /** Asked before each watchdog ping: a runtime that is not well does not ping, and systemd restarts it. @default always well */
  healthy?: () => boolean | Promise<boolean>
}

const run = (command: string, args: string[]): Promise<void> => new Promise((resolve, reject) => {
  execFile(command, args, { timeout: 5000 }, (err) => { if (err === null) resolve(); else reject(err) })
})

async function onPath (command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const candidates = command.includes('/') ? [command] : (env.PATH ?? '/usr/bin:/bin').split(delimiter).filter(Boolean).map((d) => join(d, command))
  for (const c of candidates) {
    try { await access(c, constants.X_OK); return c } catch { /* next */ }
  }
  return undefined
}

/**
 * The systemd notify protocol (sd_notify(3)) for `Type=notify` + `WatchdogSec=`: `READY=1` once the runtime
 * serves, `WATCHDOG=1` every half of `WATCHDOG_USEC` (as sd_watchdog_enabled(3) advises), `STOPPING=1` at stop.
 * Node cannot send on a unix datagram socket, so it runs `systemd-notify` (which, since systemd 246, waits
 * until the manager has read the message, so the short-lived sender is still attributed to the service; the
 * unit sets `NotifyAccess=all` because the sender is not the main process). Without NOTIFY_SOCKET or without
 * the command every call is a no-op, so `mecha run` outside systemd is unaffected.
 */
export class SystemdNotifier {
  readonly #o: NotifierOptions
  readonly #command: string | undefined
  readonly #clock: Clock
  readonly #intervalMs: number | undefined
  #timer: unknown
  #running = false
  #stopped = false

  private constructor (o: NotifierOptions, command: string | undefined, intervalMs: number | undefined) {
    this.#o = o
    this.#command = command
    this.#clock = o.clock ?? systemClock
    this.#intervalMs = intervalMs
  }

  static async create (o: NotifierOptions = {}): Promise<SystemdNotifier> {
    const env = o.env ?? process.env
    const socket = env.NOTIFY_SOCKET
    const command = socket === undefined || socket === '' ? undefined : await onPath(o.command ?? 'systemd-notify', env)
    if (socket !== undefined && socket !== '' && command === undefined) o.log?.warn('NOTIFY_SOCKET is set but systemd-notify is not on PATH: readiness and watchdog are not reported')
    const usec = Number(env.WATCHDOG_USEC)
    // WATCHDOG_PID names the process the watchdog is meant for; another one (a child) must not ping.
    const forUs = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === '' || Number(env.WATCHDOG_PID) === process.pid
    const intervalMs = command !== undefined && forUs && Number.isFinite(usec) && usec > 0 ? Math.max(1, Math.floor(usec / 2000)) : undefined
    return new SystemdNotifier(o, command, intervalMs)
  }

  /** Whether messages are sent at all (NOTIFY_SOCKET set and systemd-notify found). */
  get enabled (): boolean { return this.#command !== undefined }
  /** The watchdog ping period, when systemd asked for one. */
  get intervalMs (): number | undefined { return this.#intervalMs }

  async #send (args: string[]): Promise<boolean> {
    if (this.#command === undefined) return false
    try {
      await (this.#o.run ?? run)(this.#command, args)
      return true
    } catch (err) {
      this.#o.log?.warn({ err: (err as Error).message, args }, 'systemd-notify failed')
      return false
    }
  }

  /** `READY=1` (and a status line for `systemctl status`). */
  async ready (status?: string): Promise<boolean> {
    return await this.#send(['READY=1', ...(status === undefined ? [] : [`STATUS=${status}`])])
  }

  /** Starts the watchdog pings (idempotent; a no-op when systemd asked for none). */
  start (): void {
    if (this.#running || this.#intervalMs === undefined) return
    this.#running = true
    const tick = async (): Promise<void> => {
      if (!this.#running) return
      let well = true
      try { well = await (this.#o.healthy?.() ?? true) } catch { well = false }
      if (!this.#running) return
      if (well) await this.#send(['WATCHDOG=1'])
      else this.#o.log?.warn('runtime not well: watchdog ping skipped')
      if (this.#running) this.#timer = this.#clock.setTimeout(() => { void tick() }, this.#intervalMs!)
    }
    void tick()
  }

  /** Stops the pings and tells systemd the stop is deliberate (`STOPPING=1`). Idempotent. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#running = false
    this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#send(['STOPPING=1'])
  }
}
