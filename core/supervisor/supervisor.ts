import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import type { AppConfig } from '../config/types.ts'
import { appProblems } from '../config/semantic.ts'
import type { DelayFn } from '../backoff.ts'
import { systemClock, type Clock } from '../clock.ts'
import { MechaError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { StatusStream } from '../status-stream.ts'
import { AppLog, type LogLine } from './app-logs.ts'
import { AppProcess, type AppProcessHooks } from './app-process.ts'
import { createAppMetrics, type AppMetrics } from './metrics.ts'
import { dependencyLevels } from './order.ts'
import type { AppStatus, SupervisorEvents } from './types.ts'

export interface SupervisorOptions {
  apps: readonly AppConfig[]
  /** What every app gets in its environment besides its own `env`: DAPR_HTTP_PORT, DAPR_API_TOKEN, … */
  env: Record<string, string>
  /** More environment for one app (its own API token). */
  appEnv?: (app: AppConfig) => Record<string, string>
  log: Logger
  /** App logs go to `<dataDir>/logs/<id>.log`; absent: the last lines in memory, and the runtime's log. */
  dataDir?: string
  /** `mecha_app_restarts_total`, `mecha_app_crash_loop`, `mecha_app_healthy`, `mecha_app_up` per app. */
  metrics?: Metrics
  clock?: Clock
  /** Restart delay by attempt, for every app. @default each app's `backoff` with full jitter */
  delay?: DelayFn
  /** For every app. @default each app's `stopGraceMs` */
  stopGraceMs?: number
  probeStartMs?: number
  probeRunMs?: number
  /** Descendant scans of /proc while an app runs. @default 1000 */
  trackMs?: number
}

/** What a status stream offers its readers (its `emit` stays the supervisor's). */
export type StatusView<T> = Pick<StatusStream<T>, 'current' | 'on'> & AsyncIterable<T>

export interface ReconfigureResult { added: string[]; removed: string[]; changed: string[]; unchanged: string[] }

interface Entry { proc: AppProcess; stream: StatusStream<AppStatus>; logs: AppLog }

/** States of a dependent that an explicit restart of its dependency restarts too: it runs or is on its way to. An
 *  `external` app (not ours to spawn) is only watched, and does not wait for dependencies. */
const RESTARTED_WITH_DEPENDENCY = new Set<AppStatus['state']['type']>(['waiting', 'starting', 'running', 'backoff'])

/**
 * Lifecycle for the business apps beside the runtime: each app in `apps:` is started in `dependsOn` order with
 * the Dapr environment an SDK expects (so `new DaprClient()` finds us), restarted per its policy with backoff,
 * held in `crash-loop` when it keeps failing, probed for health as Dapr does, and stopped — its whole process
 * tree — in reverse order. Emits `up`/`down` (pub/sub fetches an app's subscriptions once it listens) and
 * `healthy`/`unhealthy` (the runtime pauses its subscriptions and input bindings meanwhile).
 */
export class Supervisor extends EventEmitter {
  readonly #o: SupervisorOptions
  readonly #clock: Clock
  readonly #metrics: AppMetrics | undefined
  readonly #apps = new Map<string, Entry>()
  /** Config order of the current apps. */
  #configs: AppConfig[] = []
  /** Apps to start once their dependencies are up. */
  readonly #pending = new Set<string>()
  #started = false
  #closed = false

  constructor (opts: SupervisorOptions) {
    super()
    this.#o = opts
    this.#clock = opts.clock ?? systemClock
    this.#metrics = opts.metrics === undefined ? undefined : createAppMetrics(opts.metrics)
    for (const app of opts.apps) this.#add(app)
    this.#configs = [...opts.apps]
  }

  override on<E extends keyof SupervisorEvents> (event: E, listener: SupervisorEvents[E]): this {
    return super.on(event, listener)
  }

  #add (app: AppConfig): void {
    const old = this.#apps.get(app.id)
    const logs = old?.logs ?? new AppLog({
      file: this.#o.dataDir === undefined ? undefined : join(this.#o.dataDir, 'logs', `${app.id}.log`),
      maxBytes: app.logs.maxBytes, files: app.logs.files, clock: this.#clock,
    })
    logs.setLimits(app.logs.maxBytes, app.logs.files)
    const proc = new AppProcess({ app, env: this.#envOf(app), clock: this.#clock, logs, log: this.#o.log.child({ app: app.id }), hooks: this.#hooks(app), delay: this.#o.delay, stopGraceMs: this.#o.stopGraceMs, probeStartMs: this.#o.probeStartMs, probeRunMs: this.#o.probeRunMs, trackMs: this.#o.trackMs, forward: this.#o.dataDir === undefined ? 'info' : 'debug' })
    const stream = old?.stream ?? new StatusStream<AppStatus>(proc.status())
    this.#apps.set(app.id, { proc, stream, logs })
  }

  #envOf (app: AppConfig): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ...this.#o.env,
      APP_ID: app.id,
      ...(app.appPort === undefined ? {} : { APP_PORT: String(app.appPort) }),
      ...this.#o.appEnv?.(app),
      ...app.env,
    }
  }

  #hooks (app: AppConfig): AppProcessHooks {
    const current = (): boolean => this.#apps.get(app.id)?.proc.app === app
    return {
      onUp: () => { if (!current()) return; this.#metrics?.up.set({ app: app.id }, 1); this.emit('up', app); this.#schedule() },
      onDown: () => { this.#metrics?.up.set({ app: app.id }, 0); this.emit('down', app) },
      onState: (s) => { if (!current()) return; this.#apps.get(app.id)?.stream.emit(s); this.emit('state', s) },
      onHealth: (h, s) => {
        if (!current()) return
        this.#apps.get(app.id)?.stream.emit(s)
        if (h === 'unknown') { this.#metrics?.healthy.remove({ app: app.id }); return }
        this.#metrics?.healthy.set({ app: app.id }, h === 'healthy' ? 1 : 0)
        this.emit(h, app, s)
      },
      onCrashLoop: (s) => { this.#metrics?.crashLoop.set({ app: app.id }, 1); this.emit('crash-loop', app, s) },
      onRestart: (reason) => { this.#metrics?.restarts.inc({ app: app.id, reason }) },
    }
  }

  /** Starts every app that is pending and whose dependencies are up; the others wait, with what they wait for. */
  #schedule (): void {
    if (this.#closed) return
    for (const app of this.#configs) {
      if (!this.#pending.has(app.id)) continue
      const missing = app.dependsOn.filter((d) => this.#apps.get(d)?.proc.running !== true)
      const entry = this.#apps.get(app.id)!
      if (missing.length > 0) { entry.proc.wait(missing); continue }
      this.#pending.delete(app.id)
      entry.proc.start()
    }
  }

  /**
   * Without an id: starts every app, dependencies first (an app starts once those it depends on are up).
   * With an id: starts that app now (also out of a crash loop or after `stop`); false when there is no such app.
   */
  start (id?: string): boolean {
    if (this.#closed) return false
    if (id === undefined) {
      this.#started = true
      for (const app of this.#configs) this.#pending.add(app.id)
      this.#schedule()
      return true
    }
    const entry = this.#apps.get(id)
    if (entry === undefined) return false
    this.#pending.delete(id)
    this.#metrics?.crashLoop.set({ app: id }, 0)
    entry.proc.start()
    return true
  }

  /** Stops one app (its whole process tree); it stays stopped until `start(id)` or `restart(id)`. */
  async stop (id: string): Promise<boolean> {
    const entry = this.#apps.get(id)
    if (entry === undefined) return false
    this.#pending.delete(id)
    await entry.proc.stop()
    return true
  }

  /**
   * Stops one app and starts it again at once, without backoff (also out of a crash loop). As systemd does for
   * a unit with `Requires=` and `After=` on it, the apps that depend on it (directly or not) and are meant to
   * run are restarted with it: they stop first (dependents before their dependencies), and each starts again
   * once what it depends on is back up. A dependent stopped by hand, failed or held in a crash loop stays so.
   * (Only an explicit restart carries over: an app that crashes and is restarted by its policy leaves its
   * dependents running, as `Requires=` does.)
   */
  async restart (id: string): Promise<boolean> {
    const entry = this.#apps.get(id)
    if (entry === undefined || this.#closed) return false
    const dependents = this.#dependentsOf(id).filter((a) => RESTARTED_WITH_DEPENDENCY.has(this.#apps.get(a.id)!.proc.status().state.type))
    const waiting = new Set(dependents.filter((a) => this.#apps.get(a.id)!.proc.status().state.type === 'waiting').map((a) => a.id))
    await this.#stopInOrder(dependents)
    this.#pending.delete(id)
    this.#metrics?.crashLoop.set({ app: id }, 0)
    await entry.proc.restart('requested')
    for (const a of dependents) {
      // One still waiting for its dependencies had not started: it just keeps waiting, not a restart.
      if (!waiting.has(a.id)) this.#apps.get(a.id)!.proc.countRestart('dependency')
      this.#pending.add(a.id)
    }
    this.#schedule()
    return true
  }

  /** The apps whose `dependsOn` reaches `id`, in config order. */
  #dependentsOf (id: string): AppConfig[] {
    const found = new Set<string>([id])
    for (let grew = true; grew;) {
      grew = false
      for (const a of this.#configs) {
        if (!found.has(a.id) && a.dependsOn.some((d) => found.has(d))) { found.add(a.id); grew = true }
      }
    }
    return this.#configs.filter((a) => a.id !== id && found.has(a.id))
  }

  get (id: string): AppConfig | undefined { return this.#apps.get(id)?.proc.app }
  status (): AppStatus[] { return this.#configs.map((a) => this.#apps.get(a.id)!.proc.status()) }

  /** One app's status: the current one, every change, and an async iterator (the admin API, the UI). */
  watch (id: string): StatusView<AppStatus> | undefined { return this.#apps.get(id)?.stream }

  /** The last `n` lines of an app's stdout/stderr (and the supervisor's notes about it), oldest first. */
  async tail (id: string, n: number): Promise<LogLine[]> {
    return await this.#apps.get(id)?.logs.tail(n) ?? []
  }

  /** Every new log line of an app, until `signal` aborts or the app is removed; undefined for an unknown app. */
  follow (id: string, signal?: AbortSignal): AsyncIterableIterator<LogLine> | undefined {
    return this.#apps.get(id)?.logs.follow(signal)
  }

  /**
   * Applies a new `apps:` list (CONVENTIONS 15): removed apps are stopped, changed ones (any key differs)
   * restarted with their new config, added ones started, and unchanged ones left running. The list is checked
   * first (`dependsOn` names, cycles); a bad one throws MECHA_ERR_CONFIG_INVALID and changes nothing.
   */
  async reconfigure (next: readonly AppConfig[]): Promise<ReconfigureResult> {
    if (this.#closed) throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'the supervisor is closed')
    const problems = appProblems(next as ReadonlyArray<Record<string, any>>)
    const ids = new Set<string>()
    next.forEach((a, i) => { if (ids.has(a.id)) problems.push({ path: `apps[${i}].id`, message: `duplicate app id "${a.id}"` }); ids.add(a.id) })
    if (problems.length > 0) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `apps: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { details: problems })
    const prev = new Map(this.#configs.map((a) => [a.id, a]))
    const result: ReconfigureResult = { added: [], removed: [], changed: [], unchanged: [] }
    for (const a of next) {
      const old = prev.get(a.id)
      if (old === undefined) result.added.push(a.id)
      else if (JSON.stringify(old) !== JSON.stringify(a)) result.changed.push(a.id)
      else result.unchanged.push(a.id)
    }
    for (const id of prev.keys()) if (!ids.has(id)) result.removed.push(id)
    // Stop what goes or changes, dependents first, as at close.
    await this.#stopInOrder(this.#configs.filter((a) => result.removed.includes(a.id) || result.changed.includes(a.id)))
    for (const id of result.removed) {
      const entry = this.#apps.get(id)!
      this.#apps.delete(id)
      this.#pending.delete(id)
      entry.stream.close()
      await entry.logs.close()
      for (const g of [this.#metrics?.up, this.#metrics?.healthy, this.#metrics?.crashLoop]) g?.remove({ app: id })
    }
    for (const a of next) if (!result.unchanged.includes(a.id)) { this.#add(a); this.#metrics?.crashLoop.set({ app: a.id }, 0) }
    this.#configs = [...next]
    if (this.#started) {
      for (const id of [...result.added, ...result.changed]) this.#pending.add(id)
      for (const id of result.changed) this.#metrics?.restarts.inc({ app: id, reason: 'config' })
      this.#schedule()
    }
    this.#o.log.info(result, 'apps reconfigured')
    return result
  }

  /** Stops `apps` so that an app stops before the apps it depends on; each level in parallel. */
  async #stopInOrder (apps: readonly AppConfig[]): Promise<void> {
    const levels = dependencyLevels(this.#configs)
    const byLevel = new Map<number, AppConfig[]>()
    for (const a of apps) {
      const l = levels.get(a.id) ?? 0
      byLevel.set(l, [...(byLevel.get(l) ?? []), a])
    }
    for (const l of [...byLevel.keys()].sort((x, y) => y - x)) {
      await Promise.all(byLevel.get(l)!.map(async (a) => { this.#pending.delete(a.id); await this.#apps.get(a.id)?.proc.stop() }))
    }
  }

  /** Idempotent: stops every app, dependents before their dependencies, and closes the logs. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#pending.clear()
    await this.#stopInOrder(this.#configs)
    for (const e of this.#apps.values()) { e.stream.close(); await e.logs.close() }
  }
}
