import { EventEmitter } from 'node:events'
import type { AppConfig } from '../config/index.ts'
import { systemClock, type Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import { AppProcess } from './app-process.ts'
import { exponentialJitter, type DelayFn } from './backoff.ts'
import type { AppStatus, SupervisorEvents } from './types.ts'

export interface SupervisorOptions {
  apps: readonly AppConfig[]
  /** What every app gets in its environment besides its own `env`: DAPR_HTTP_PORT, DAPR_API_TOKEN, … */
  env: Record<string, string>
  /** More environment for one app (its own API token). */
  appEnv?: (app: AppConfig) => Record<string, string>
  log: Logger
  clock?: Clock
  /** Restart delay by attempt. @default exponential with jitter, 500 ms to 30 s */
  delay?: DelayFn
  stopGraceMs?: number
  probeStartMs?: number
  probeRunMs?: number
}

/**
 * Lifecycle for the business apps beside the runtime: each app in `apps:` is started with the Dapr
 * environment an SDK expects (so `new DaprClient()` finds us), restarted per its policy with backoff, and
 * stopped with the runtime. Emits `up`/`down` so pub/sub can fetch an app's subscriptions once it listens.
 */
export class Supervisor extends EventEmitter {
  readonly #apps = new Map<string, AppProcess>()
  #closed = false

  constructor (opts: SupervisorOptions) {
    super()
    const clock = opts.clock ?? systemClock
    const delay = opts.delay ?? exponentialJitter(500, 30_000)
    for (const app of opts.apps) {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...opts.env,
        APP_ID: app.id,
        ...(app.appPort === undefined ? {} : { APP_PORT: String(app.appPort) }),
        ...opts.appEnv?.(app),
        ...app.env,
      }
      this.#apps.set(app.id, new AppProcess({
        app, env, clock, delay, log: opts.log.child({ app: app.id }),
        stopGraceMs: opts.stopGraceMs, probeStartMs: opts.probeStartMs, probeRunMs: opts.probeRunMs,
        onUp: () => { this.emit('up', app) },
        onDown: () => { this.emit('down', app) },
        onState: (s) => { this.emit('state', s) },
      }))
    }
  }

  override on<E extends keyof SupervisorEvents> (event: E, listener: SupervisorEvents[E]): this {
    return super.on(event, listener)
  }

  start (): void {
    for (const p of this.#apps.values()) p.start()
  }

  get (id: string): AppConfig | undefined { return this.#apps.get(id)?.app }
  status (): AppStatus[] { return [...this.#apps.values()].map((p) => p.status()) }

  /** Hot reload of one app: stop it and start it again at once. */
  async restart (id: string): Promise<boolean> {
    const p = this.#apps.get(id)
    if (p === undefined) return false
    await p.restart()
    return true
  }

  /** Idempotent: stops every app (in parallel, each within its grace period). */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.#apps.values()].map((p) => p.stop()))
  }
}
