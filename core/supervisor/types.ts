import type { AppConfig } from '../config/index.ts'

/** One supervised app's state, a discriminated union (CONVENTIONS 7). */
export type AppState =
  | { type: 'starting'; pid: number }
  | { type: 'running'; pid: number; since: number }
  | { type: 'backoff'; code: number | null; signal: string | null; nextAttemptAt: number }
  | { type: 'exited'; code: number | null; signal: string | null }
  | { type: 'failed'; reason: string }
  | { type: 'stopped' }
  | { type: 'external' }

export interface AppStatus {
  id: string
  state: AppState
  restarts: number
  appPort?: number
}

export interface SupervisorEvents {
  /** The app answers on its port (or, without one, has been spawned). */
  up: (app: AppConfig) => void
  /** The app exited or stopped answering. */
  down: (app: AppConfig) => void
  state: (status: AppStatus) => void
}
