import type { AppConfig } from '../config/index.ts'
import type { Health } from './health.ts'

export type { Health }

/** One supervised app's state, a discriminated union (CONVENTIONS 7). */
export type AppState =
  /** Not started yet: its `dependsOn` apps are not up. */
  | { type: 'waiting'; for: string[] }
  | { type: 'starting'; pid: number }
  | { type: 'running'; pid: number; since: number }
  | { type: 'backoff'; code: number | null; signal: string | null; attempt: number; delayMs: number; nextAttemptAt: number }
  /** `failures` unrequested exits within `windowMs`: no more restarts until `start`/`restart` or a config change. */
  | { type: 'crash-loop'; code: number | null; signal: string | null; failures: number; windowMs: number; since: number }
  | { type: 'exited'; code: number | null; signal: string | null }
  | { type: 'failed'; reason: string }
  | { type: 'stopping'; pid: number }
  | { type: 'stopped' }
  /** Not spawned by us (no `command`): only watched on its port. */
  | { type: 'external' }

export interface AppStatus {
  id: string
  state: AppState
  /** Restarts since the supervisor started (by policy, by health, or asked for). */
  restarts: number
  /** From the health probes; 'unknown' when they are off or have not answered yet. */
  health: Health
  appPort?: number
}

/** Why an app was restarted (the metric's label); `dependency`: an app it `dependsOn` was restarted on request. */
export type RestartReason = 'exit' | 'health' | 'requested' | 'config' | 'dependency'

export interface SupervisorEvents {
  /** The app answers on its port (or, without one, has been spawned; with health probes, passed the first one). */
  up: (app: AppConfig) => void
  /** The app exited or stopped answering. */
  down: (app: AppConfig) => void
  state: (status: AppStatus) => void
  /** Health probes passed again after failing (or for the first time): resume its subscriptions and bindings. */
  healthy: (app: AppConfig, status: AppStatus) => void
  /** `threshold` probes failed in a row: pause its subscriptions and input bindings. */
  unhealthy: (app: AppConfig, status: AppStatus) => void
  'crash-loop': (app: AppConfig, status: AppStatus) => void
}
