/**
 * Reconnect delays: exponential with decorrelated jitter (the AWS architecture blog's variant, which mosquitto's
 * bridge uses): each delay is random between `minMs` and three times the previous one, capped at `maxMs`.
 * Many gateways losing the same cloud at once therefore come back spread out, not in lockstep.
 */

/** Computes the delay before reconnect attempt `attempt` (1-based), given the previous delay (0 at first). */
export type DelayFn = (attempt: number, previousMs: number) => number

export function decorrelatedJitter (minMs: number, maxMs: number, random: () => number = Math.random): DelayFn {
  return (_attempt, previousMs) => {
    const upper = Math.max(minMs, previousMs * 3)
    return Math.min(maxMs, Math.round(minMs + random() * (upper - minMs)))
  }
}
