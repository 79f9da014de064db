/**
 * Dapr resiliency's exponential retry (docs.dapr.io/operations/resiliency/policies/retries: initialInterval
 * 500ms, multiplier 1.5, randomizationFactor 0.5, maxInterval 60s — cenkalti/backoff semantics) with a
 * bounded number of retries, after which an event goes to the dead-letter topic or is dropped.
 */
import { exponentialBackoff, proportionalJitter } from '../../core/backoff.ts'

export interface RetryPolicy {
  /** @default 500 */
  initialIntervalMs: number
  /** @default 60000 */
  maxIntervalMs: number
  /** @default 1.5 */
  multiplier: number
  /** Each delay is drawn uniformly from delay × [1 − f, 1 + f]. @default 0.5 */
  randomizationFactor: number
  /** Retries after the first attempt; -1 retries forever. @default 5 */
  maxRetries: number
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  initialIntervalMs: 500,
  maxIntervalMs: 60_000,
  multiplier: 1.5,
  randomizationFactor: 0.5,
  maxRetries: 5,
})

/** The delay before retry number `retry` (0 for the first retry): the runtime's one backoff (core/backoff.ts). */
export function retryDelay (p: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const delay = exponentialBackoff({
    // A max below the initial interval caps every delay at the max, as cenkalti/backoff does.
    initialMs: Math.min(p.initialIntervalMs, p.maxIntervalMs),
    maxMs: p.maxIntervalMs,
    multiplier: Math.max(1, p.multiplier),
    jitter: proportionalJitter(Math.min(1, Math.max(0, p.randomizationFactor))),
    random,
  })
  return delay(retry + 1, 0)
}

/** True while another retry is allowed after `retries` retries. */
export function mayRetry (p: RetryPolicy, retries: number): boolean {
  return p.maxRetries < 0 || retries < p.maxRetries
}
