import type { Counter, Gauge } from 'prom-client'
import type { Metrics } from '../metrics.ts'

export interface AppMetrics {
  restarts: Counter<'app' | 'reason'>
  crashLoop: Gauge<'app'>
  healthy: Gauge<'app'>
  up: Gauge<'app'>
}

/** The supervisor's metric hook: one registry per runtime, so one set of these per supervisor. */
export function createAppMetrics (m: Metrics): AppMetrics {
  return {
    restarts: m.counter({ name: 'mecha_app_restarts_total', help: 'Restarts of a supervised app, by reason (exit, health, requested, config, dependency)', labelNames: ['app', 'reason'] }),
    crashLoop: m.gauge({ name: 'mecha_app_crash_loop', help: '1 while a supervised app is held in a crash loop (not restarted until asked)', labelNames: ['app'] }),
    healthy: m.gauge({ name: 'mecha_app_healthy', help: 'App health probes: 1 healthy, 0 unhealthy (absent while unknown)', labelNames: ['app'] }),
    up: m.gauge({ name: 'mecha_app_up', help: '1 while a supervised app is up (listening, or spawned without a port)', labelNames: ['app'] }),
  }
}
