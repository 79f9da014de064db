import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { AppConfig } from '../config/index.ts'
import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import type { DelayFn } from './backoff.ts'
import { probeHttp, probePort } from './probe.ts'
import type { AppState, AppStatus } from './types.ts'

export interface AppProcessOptions {
  app: AppConfig
  env: NodeJS.ProcessEnv
  log: Logger
  clock: Clock
  delay: DelayFn
  /** How often to probe the app's port while waiting for it and while it runs. @default 250 / 5000 */
  probeStartMs?: number
  probeRunMs?: number
  /** SIGTERM, then SIGKILL after this long. @default 3000 */
  stopGraceMs?: number
  onUp: () => void
  onDown: () => void
  onState: (s: AppStatus) => void
}

/** A run that lasted this long counts as healthy: the next crash starts the backoff from the beginning. */
const HEALTHY_RUN_MS = 30_000

/**
 * One app under supervision: spawns it (in its own process group, so its children go with it), waits for its
 * port, restarts it per its policy with backoff, and stops it with SIGTERM then SIGKILL. An app with only an
 * `appPort` is not spawned, only watched.
 */
export class AppProcess {
  readonly app: AppConfig
  readonly #o: AppProcessOptions
  #child: ChildProcess | undefined
  #state: AppState = { type: 'stopped' }
  #restarts = 0
  #attempt = 0
  #up = false
  #stopping = false
  #timer: unknown
  #startedAt = 0
  #exited: Promise<void> = Promise.resolve()
  #probeGen = 0

  constructor (o: AppProcessOptions) {
    this.app = o.app
    this.#o = o
  }


  status (): AppStatus {
    return { id: this.app.id, state: this.#state, restarts: this.#restarts, appPort: this.app.appPort }
  }

  start (): void {
    this.#stopping = false
    if (this.app.command === undefined) { this.#set({ type: 'external' }); this.#probe(); return }
    this.#spawn()
  }

  #set (state: AppState): void {
    this.#state = state
    this.#o.onState(this.status())
  }

  #spawn (): void {
    const app = this.app
    let child: ChildProcess
    try {
      child = spawn(app.command!, [...app.args], { cwd: app.cwd, env: this.#o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    } catch (err) {
      this.#set({ type: 'failed', reason: (err as Error).message })
      return
    }
    this.#child = child
    this.#startedAt = this.#o.clock.now()
    const log = this.#o.log
    for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']] as const) {
      if (stream !== null) createInterface({ input: stream }).on('line', (line) => { log.info({ stream: name }, line) })
    }
    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        // spawn failures (ENOENT, EACCES) arrive here instead of an exit
        log.error({ err }, 'app could not be started')
        this.#afterExit(null, null, err.message)
        resolve()
      })
      child.once('exit', (code, signal) => { this.#afterExit(code, signal); resolve() })
    })
    this.#set({ type: 'starting', pid: child.pid ?? -1 })
    log.info({ pid: child.pid, command: app.command }, 'app started')
    this.#probe()
  }

  /** Polls the port until it answers (then `up`); keeps polling slowly while running to notice a hang. */
  #probe (): void {
    const app = this.app
    // A tick still awaiting its probe when the app is respawned must not start a second loop beside the new one.
    const gen = ++this.#probeGen
    const tick = async (): Promise<void> => {
      if (this.#stopping || gen !== this.#probeGen) return
      let ok: boolean
      if (app.appPort === undefined) ok = this.#child !== undefined && this.#child.exitCode === null
      else if (app.healthPath !== undefined) ok = await probeHttp(app.appHost, app.appPort, app.healthPath)
      else ok = await probePort(app.appHost, app.appPort)
      if (this.#stopping || gen !== this.#probeGen) return
      if (ok && !this.#up) {
        this.#up = true
        if (this.#child !== undefined) this.#set({ type: 'running', pid: this.#child.pid ?? -1, since: this.#o.clock.now() })
        this.#o.log.info('app is up')
        this.#o.onUp()
      } else if (!ok && this.#up && this.#child === undefined) {
        this.#up = false
        this.#o.log.warn('app stopped answering')
        this.#o.onDown()
      }
      if (this.app.command !== undefined && this.#child === undefined) return // exited meanwhile
      this.#timer = this.#o.clock.setTimeout(() => { void tick() }, this.#up ? (this.#o.probeRunMs ?? 5000) : (this.#o.probeStartMs ?? 250))
    }
    void tick()
  }

  #afterExit (code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (this.#child === undefined) return
    this.#child = undefined
    this.#o.clock.clearTimeout(this.#timer)
    if (this.#up) { this.#up = false; this.#o.onDown() }
    if (this.#stopping) { this.#set({ type: 'stopped' }); return }
    const log = this.#o.log
    const ranMs = this.#o.clock.now() - this.#startedAt
    if (ranMs >= HEALTHY_RUN_MS) this.#attempt = 0
    const failed = code !== 0 || signal !== null || error !== undefined
    const restart = this.app.restart === 'always' || (this.app.restart === 'on-failure' && failed)
    if (!restart) {
      log.info({ code, signal }, 'app exited; not restarting (restart policy)')
      this.#set({ type: 'exited', code, signal })
      return
    }
    this.#attempt++
    const wait = this.#o.delay(this.#attempt)
    log.warn({ code, signal, error, restartInMs: wait, attempt: this.#attempt }, 'app exited; restarting')
    this.#set({ type: 'backoff', code, signal, nextAttemptAt: this.#o.clock.now() + wait })
    this.#timer = this.#o.clock.setTimeout(() => {
      if (this.#stopping) return
      this.#restarts++
      this.#spawn()
    }, wait)
  }

  /** Restarts now (hot reload): stop, then start without backoff. */
  async restart (): Promise<void> {
    await this.stop()
    this.#restarts++
    this.start()
  }

  /** Idempotent. SIGTERM to the app's process group, SIGKILL after the grace period. */
  async stop (): Promise<void> {
    this.#stopping = true
    this.#o.clock.clearTimeout(this.#timer)
    const child = this.#child
    if (child === undefined || child.pid === undefined) {
      if (this.#up) { this.#up = false; this.#o.onDown() }
      if (this.#state.type !== 'exited') this.#set({ type: 'stopped' })
      return
    }
    const kill = (signal: NodeJS.Signals): void => { try { process.kill(-child.pid!, signal) } catch { try { child.kill(signal) } catch {} } }
    kill('SIGTERM')
    const timer = setTimeout(() => { kill('SIGKILL') }, this.#o.stopGraceMs ?? 3000)
    await this.#exited
    clearTimeout(timer)
  }
}
