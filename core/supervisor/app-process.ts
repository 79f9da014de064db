import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { AppConfig, AppHealthConfig } from '../config/types.ts'
import { Backoff, exponentialBackoff, type DelayFn } from '../backoff.ts'
import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import type { AppLog } from './app-logs.ts'
import { HealthProbe, type Health } from './health.ts'
import { probePort } from './probe.ts'
import { ProcessTree, terminateTree } from './process-tree.ts'
import type { AppState, AppStatus, RestartReason } from './types.ts'

export interface AppProcessHooks {
  onUp: () => void
  onDown: () => void
  onState: (s: AppStatus) => void
  onHealth: (h: Health, s: AppStatus) => void
  onCrashLoop: (s: AppStatus) => void
  onRestart: (reason: RestartReason) => void
}

export interface AppProcessOptions {
  app: AppConfig
  env: NodeJS.ProcessEnv
  log: Logger
  clock: Clock
  logs: AppLog
  hooks: AppProcessHooks
  /** Restart delay by attempt. @default exponential with full jitter within `app.backoff` */
  delay?: DelayFn
  /** Overrides `app.stopGraceMs` (the Supervisor's old option). */
  stopGraceMs?: number
  /** Port polling while the app starts / while an external app runs. @default 250 / 5000 */
  probeStartMs?: number
  probeRunMs?: number
  /** Descendant scans of /proc while the app runs. @default 1000 */
  trackMs?: number
  /** Also log each line through the runtime's logger at this level. */
  forward?: 'info' | 'debug'
}

/** `healthPath` alone turns the probes on with Dapr's defaults (the schema's, repeated for the legacy key). */
function healthOf (app: AppConfig): AppHealthConfig | undefined {
  if (app.appPort === undefined) return undefined
  if (app.health !== undefined) return app.health
  if (app.healthPath !== undefined) return { path: app.healthPath, intervalMs: 5000, timeoutMs: 500, threshold: 3, restartAfter: 12 }
  return undefined
}

let instances = 0

/**
 * One app under supervision: spawns it in its own session, tracks every process it starts, waits until it is
 * ready (its port, or its first healthy probe), restarts it per its policy with backoff, stops restarting in a
 * crash loop, and stops its whole process tree with SIGTERM then SIGKILL. An app with only an `appPort` is not
 * spawned, only watched.
 */
export class AppProcess {
  readonly app: AppConfig
  readonly #o: AppProcessOptions
  readonly #backoff: Backoff
  readonly #healthConfig: AppHealthConfig | undefined
  #health: HealthProbe | undefined
  #child: ChildProcess | undefined
  #tree: ProcessTree | undefined
  #exited: Promise<void> = Promise.resolve()
  #state: AppState = { type: 'stopped' }
  #restarts = 0
  /** Times of the unrequested exits inside the crash-loop window. */
  #failures: number[] = []
  #up = false
  /** False once stop() was asked: nothing restarts, probes end. */
  #wanted = false
  #timer: unknown
  #track: NodeJS.Timeout | undefined
  #startedAt = 0
  #gen = 0
  #stopping: Promise<void> | undefined
  #reaping: Promise<void> = Promise.resolve()
  /** Bumped by every start/stop/restart request, so a restart in progress yields to a later request. */
  #intent = 0

  constructor (o: AppProcessOptions) {
    this.app = o.app
    this.#o = o
    const b = o.app.backoff
    this.#backoff = new Backoff(o.delay ?? exponentialBackoff({ initialMs: b.initialMs, maxMs: Math.max(b.initialMs, b.maxMs) }))
    this.#healthConfig = healthOf(o.app)
  }

  status (): AppStatus {
    return { id: this.app.id, state: this.#state, restarts: this.#restarts, health: this.#health?.health ?? 'unknown', ...(this.app.appPort === undefined ? {} : { appPort: this.app.appPort }) }
  }

  get running (): boolean { return this.#up }

  /** Not started because its dependencies are not up yet. */
  wait (forIds: string[]): void {
    if (this.#child !== undefined || this.#state.type === 'external') return
    this.#set({ type: 'waiting', for: forIds })
  }

  /** Starts it (now, also from backoff or a crash loop: an explicit start forgets past failures). No-op while it runs. */
  start (): void {
    const intent = ++this.#intent
    if (this.#stopping !== undefined) { void this.#stopping.then(() => { if (intent === this.#intent) this.#start() }); return }
    this.#start()
  }

  #start (): void {
    this.#wanted = true
    if (this.#child !== undefined || this.#state.type === 'external') return
    this.#o.clock.clearTimeout(this.#timer)
    this.#failures = []
    this.#backoff.reset()
    if (this.app.command === undefined) { this.#set({ type: 'external' }); this.#watchExternal(); this.#startHealth(); return }
    this.#spawn()
  }

  #set (state: AppState): void {
    this.#state = state
    this.#o.hooks.onState(this.status())
  }

  #spawn (): void {
    const app = this.app
    const gen = ++this.#gen
    const marker = `MECHA_APP_INSTANCE=${process.pid}.${app.id}.${++instances}.${randomBytes(4).toString('hex')}`
    let child: ChildProcess
    try {
      child = spawn(app.command!, [...app.args], {
        cwd: app.cwd,
        env: { ...this.#o.env, MECHA_APP_INSTANCE: marker.slice(marker.indexOf('=') + 1) },
        stdio: ['ignore', 'pipe', 'pipe'],
        // its own session and process group, so a signal to the group reaches its children
        detached: true,
      })
    } catch (err) {
      this.#set({ type: 'failed', reason: (err as Error).message })
      return
    }
    this.#child = child
    this.#tree = child.pid === undefined ? undefined : new ProcessTree(child.pid, marker)
    this.#startedAt = this.#o.clock.now()
    const log = this.#o.log
    const level = this.#o.forward
    for (const [stream, name] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']] as const) {
      if (stream !== null) this.#o.logs.capture(stream, name, level === undefined ? undefined : (line) => { log[level]({ stream: name }, line) })
    }
    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        // spawn failures (ENOENT, EACCES) arrive here instead of an exit
        log.error({ err: err.message }, 'app could not be started')
        this.#o.logs.write('supervisor', `could not be started: ${err.message}`)
        this.#afterExit(child, null, null, err.message)
        resolve()
      })
      child.once('exit', (code, signal) => { this.#afterExit(child, code, signal); resolve() })
    })
    if (child.pid === undefined) return // the 'error' follows
    this.#set({ type: 'starting', pid: child.pid })
    this.#o.logs.write('supervisor', `started pid ${child.pid}: ${app.command} ${app.args.join(' ')}`)
    log.info({ pid: child.pid, command: app.command }, 'app started')
    this.#trackDescendants(gen, 0)
    if (this.#healthConfig !== undefined) this.#startHealth()
    else if (app.appPort !== undefined) this.#waitForPort(gen)
    else this.#ready()
  }

  /** Scans /proc for the app's descendants soon after spawn (a short-lived parent), then every `trackMs`. */
  #trackDescendants (gen: number, round: number): void {
    const ms = [25, 100, 300][round] ?? this.#o.trackMs ?? 1000
    this.#track = setTimeout(() => {
      if (gen !== this.#gen || this.#child === undefined) return
      void this.#tree?.scan().finally(() => { if (gen === this.#gen && this.#child !== undefined) this.#trackDescendants(gen, round + 1) })
    }, ms)
    this.#track.unref()
  }

  #ready (): void {
    if (this.#up || this.#child === undefined) return
    this.#up = true
    this.#set({ type: 'running', pid: this.#child.pid ?? -1, since: this.#o.clock.now() })
    this.#o.log.info('app is up')
    this.#o.hooks.onUp()
  }

  #waitForPort (gen: number): void {
    const tick = async (): Promise<void> => {
      const ok = await probePort(this.app.appHost, this.app.appPort!)
      if (gen !== this.#gen || this.#child === undefined) return
      if (ok) { this.#ready(); return }
      this.#timer = this.#o.clock.setTimeout(() => { void tick() }, this.#o.probeStartMs ?? 250)
    }
    void tick()
  }

  /** An app we did not spawn: up while its port answers. */
  #watchExternal (): void {
    const gen = ++this.#gen
    const tick = async (): Promise<void> => {
      const ok = await probePort(this.app.appHost, this.app.appPort!)
      if (gen !== this.#gen || !this.#wanted) return
      if (ok !== this.#up) {
        this.#up = ok
        if (ok) { this.#o.log.info('app is up'); this.#o.hooks.onUp() } else { this.#o.log.warn('app stopped answering'); this.#o.hooks.onDown() }
      }
      this.#timer = this.#o.clock.setTimeout(() => { void tick() }, this.#up ? (this.#o.probeRunMs ?? 5000) : (this.#o.probeStartMs ?? 250))
    }
    void tick()
  }

  #startHealth (): void {
    const cfg = this.#healthConfig
    if (cfg === undefined) return
    this.#health?.stop()
    const gen = this.#gen
    const probe: HealthProbe = new HealthProbe({
      host: this.app.appHost, port: this.app.appPort!, config: cfg, clock: this.#o.clock, startIntervalMs: this.#o.probeStartMs ?? 250,
      onChange: (h) => {
        if (gen !== this.#gen || this.#health !== probe) return
        this.#o.log[h === 'healthy' ? 'info' : 'warn']({ health: h }, `app is ${h}`)
        this.#o.logs.write('supervisor', `health: ${h}`)
        if (h === 'healthy' && this.#child !== undefined) this.#ready()
        this.#o.hooks.onHealth(h, this.status())
      },
      onRestartDue: () => {
        if (gen !== this.#gen || this.#child === undefined) return
        this.#o.log.warn({ probes: cfg.restartAfter }, 'app stayed unhealthy; restarting it')
        this.#o.logs.write('supervisor', `restarting: unhealthy for ${cfg.restartAfter} more probes`)
        void this.#restartNow('health')
      },
    })
    this.#health = probe
    probe.start()
  }

  #stopProbes (): void {
    this.#gen++
    this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    clearTimeout(this.#track)
    const wasKnown = this.#health !== undefined && this.#health.health !== 'unknown'
    this.#health?.stop()
    this.#health = undefined
    if (wasKnown) this.#o.hooks.onHealth('unknown', this.status())
  }

  #afterExit (child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (this.#child !== child) return
    this.#child = undefined
    const tree = this.#tree
    this.#stopProbes()
    if (this.#up) { this.#up = false; this.#o.hooks.onDown() }
    this.#o.logs.write('supervisor', `exited ${signal !== null ? `by ${signal}` : `with code ${code}`}`)
    if (!this.#wanted) { if (this.#stopping === undefined) this.#set({ type: 'stopped' }); return }
    // What the app left behind (a daemonized child) goes with it, as systemd's KillMode=control-group does.
    if (tree !== undefined) this.#reaping = terminateTree(tree, Promise.resolve(), this.#grace())
    const log = this.#o.log
    const now = this.#o.clock.now()
    if (now - this.#startedAt >= this.app.backoff.resetAfterMs) this.#backoff.reset()
    const failed = code !== 0 || signal !== null || error !== undefined
    const restart = this.app.restart === 'always' || (this.app.restart === 'on-failure' && failed)
    if (!restart) {
      log.info({ code, signal }, 'app exited; not restarting (restart policy)')
      if (error !== undefined) this.#set({ type: 'failed', reason: error })
      else this.#set({ type: 'exited', code, signal })
      return
    }
    if (this.#crashLoop(now, code, signal)) return
    const delayMs = this.#backoff.next()
    log.warn({ code, signal, error, restartInMs: delayMs, attempt: this.#backoff.attempt }, 'app exited; restarting')
    this.#set({ type: 'backoff', code, signal, attempt: this.#backoff.attempt, delayMs, nextAttemptAt: now + delayMs })
    this.#timer = this.#o.clock.setTimeout(() => {
      if (!this.#wanted || this.#child !== undefined) return
      this.#restarts++
      this.#o.hooks.onRestart('exit')
      this.#spawn()
    }, delayMs)
  }

  /** Records an unrequested exit; true when that makes a crash loop (reported, and no more restarts). */
  #crashLoop (now: number, code: number | null, signal: string | null): boolean {
    const { failures, windowMs } = this.app.crashLoop
    this.#failures = [...this.#failures.filter((t) => now - t < windowMs), now]
    if (this.#failures.length < failures) return false
    this.#o.log.error({ failures, windowMs, code, signal }, 'app is in a crash loop; not restarting it until it is started again or its config changes')
    this.#o.logs.write('supervisor', `crash loop: ${failures} failures within ${windowMs} ms; not restarting`)
    this.#set({ type: 'crash-loop', code, signal, failures, windowMs, since: now })
    this.#o.hooks.onCrashLoop(this.status())
    return true
  }

  #grace (): number { return this.#o.stopGraceMs ?? this.app.stopGraceMs }

  async #restartNow (reason: RestartReason): Promise<void> {
    const now = this.#o.clock.now()
    const intent = ++this.#intent
    await this.#stop()
    if (intent !== this.#intent) return // stopped (or started) by someone else meanwhile: theirs wins
    if (reason === 'health' && this.#crashLoop(now, null, 'SIGTERM')) return
    this.#restarts++
    this.#o.hooks.onRestart(reason)
    const failures = this.#failures
    this.#start()
    if (reason === 'health') this.#failures = failures // a health restart still counts toward a crash loop
  }

  /** Stops and starts it again at once, without backoff (asked for, or a config change). */
  async restart (reason: RestartReason = 'requested'): Promise<void> {
    await this.#restartNow(reason)
  }

  /** Counts a restart that others carry out as a stop and a later start (an app it depends on restarted). */
  countRestart (reason: RestartReason): void {
    this.#restarts++
    this.#o.hooks.onRestart(reason)
  }

  /** Idempotent. SIGTERM to the app's whole process tree, SIGKILL after the grace period. */
  async stop (): Promise<void> {
    this.#intent++
    await this.#stop()
  }

  async #stop (): Promise<void> {
    this.#wanted = false
    if (this.#stopping !== undefined) return await this.#stopping
    const child = this.#child
    const tree = this.#tree
    this.#stopProbes()
    if (child === undefined || tree === undefined) {
      if (this.#up) { this.#up = false; this.#o.hooks.onDown() }
      if (!['exited', 'failed', 'crash-loop', 'stopped'].includes(this.#state.type)) this.#set({ type: 'stopped' })
      await this.#reaping
      return
    }
    this.#set({ type: 'stopping', pid: child.pid ?? -1 })
    this.#o.logs.write('supervisor', 'stopping')
    this.#stopping = (async () => {
      await terminateTree(tree, this.#exited, this.#grace())
      await this.#exited
      await this.#reaping
      this.#set({ type: 'stopped' })
    })()
    try { await this.#stopping } finally { this.#stopping = undefined }
  }
}
