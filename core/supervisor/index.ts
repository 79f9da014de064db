export { Supervisor, type SupervisorOptions } from './supervisor.ts'
export { exponentialJitter, type DelayFn } from './backoff.ts'
export { probeHttp, probePort } from './probe.ts'
export type { AppState, AppStatus, SupervisorEvents } from './types.ts'
