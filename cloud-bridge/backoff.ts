/**
 * Reconnect delays: the runtime's one backoff (core/backoff.ts) with decorrelated jitter (the AWS architecture
 * blog's variant, which mosquitto's bridge uses): each delay is random between `minMs` and three times the
 * previous one, capped at `maxMs`. Many gateways losing the same cloud at once therefore come back spread out.
 */
import { decorrelatedJitter as decorrelated, exponentialBackoff, type DelayFn } from '../core/backoff.ts'

export type { DelayFn }

export function decorrelatedJitter (minMs: number, maxMs: number, random: () => number = Math.random): DelayFn {
  return exponentialBackoff({ initialMs: minMs, maxMs, jitter: decorrelated, random })
}
