import type { AppHealthConfig } from '../config/types.ts'
import type { Clock } from '../clock.ts'
import { probeHttp } from './probe.ts'

export type Health = 'unknown' | 'healthy' | 'unhealthy'

export interface HealthProbeOptions {
  host: string
  port: number
  config: AppHealthConfig
  clock: Clock
  /** @default probeHttp (a 2xx within the timeout is a success) */
  probe?: (host: string, port: number, path: string, timeoutMs: number) => Promise<boolean>
  /** Probe interval until the first success (an app that is starting); failures then count only once
   *  `threshold × intervalMs` have passed, so a slow start is not reported unhealthy. @default intervalMs */
  startIntervalMs?: number
  onChange: (health: Health) => void
  /** The app stayed unhealthy for `restartAfter` more failed probes. */
  onRestartDue: () => void
}

/**
 * Dapr's app health checks (docs.dapr.io/operations/resiliency/health-checks/app-health): `GET {path}` every
 * `intervalMs`, each with `timeoutMs`; `threshold` consecutive failures make the app unhealthy, a single
 * success makes it healthy again. Beyond Dapr (which never restarts an app), an app still unhealthy after
 * `restartAfter` further failed probes is due a restart, as a liveness probe would do.
 */
export class HealthProbe {
  readonly #o: HealthProbeOptions
  #health: Health = 'unknown'
  #failures = 0
  #failuresWhileUnhealthy = 0
  #timer: unknown
  #running = false
  #gen = 0
  #startedAt = 0

  constructor (o: HealthProbeOptions) { this.#o = o }

  get health (): Health { return this.#health }

  start (): void {
    if (this.#running) return
    this.#running = true
    this.#startedAt = this.#o.clock.now()
    const gen = ++this.#gen
    void this.#tick(gen)
  }

  stop (): void {
    this.#running = false
    this.#gen++
    this.#o.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#health = 'unknown'
    this.#failures = 0
    this.#failuresWhileUnhealthy = 0
  }

  async #tick (gen: number): Promise<void> {
    const { host, port, config } = this.#o
    const ok = await (this.#o.probe ?? probeHttp)(host, port, config.path, config.timeoutMs).catch(() => false)
    if (gen !== this.#gen) return
    if (ok) {
      this.#failures = 0
      this.#failuresWhileUnhealthy = 0
      this.#set('healthy')
    } else {
      this.#failures++
      if (this.#health === 'unhealthy') this.#failuresWhileUnhealthy++
      const starting = this.#health === 'unknown' && this.#o.clock.now() - this.#startedAt < config.threshold * config.intervalMs
      if (this.#failures >= config.threshold && !starting) this.#set('unhealthy')
      if (this.#health === 'unhealthy' && config.restartAfter > 0 && this.#failuresWhileUnhealthy >= config.restartAfter) {
        this.#failuresWhileUnhealthy = 0
        this.#o.onRestartDue()
        if (gen !== this.#gen) return
      }
    }
    const ms = this.#health === 'unknown' ? Math.min(config.intervalMs, this.#o.startIntervalMs ?? config.intervalMs) : config.intervalMs
    this.#timer = this.#o.clock.setTimeout(() => { void this.#tick(gen) }, ms)
  }

  #set (h: Health): void {
    if (this.#health === h) return
    this.#health = h
    this.#o.onChange(h)
  }
}
