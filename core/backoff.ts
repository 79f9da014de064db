/**
 * The one backoff of the runtime (CONVENTIONS 6): exponential delays between `initialMs` and `maxMs`, spread by
 * an injectable jitter so that many gateways (or many apps, or many retried events) that failed together do not
 * come back in lockstep. The cloud link, the app supervisor and pub/sub retries all draw their delays here.
 *
 * Delays are computed by a pure `DelayFn(attempt, previousMs)`; `Backoff` is the small stateful wrapper that
 * counts attempts and remembers the previous delay until `reset()`.
 */

/** The delay before attempt `attempt` (1-based), given the previous delay (0 before the first). */
export type DelayFn = (attempt: number, previousMs: number) => number

/** What a jitter sees: the exponential delay for this attempt and the bounds it was computed in. */
export interface JitterInput {
  /** `min(maxMs, initialMs × multiplier^(attempt−1))` */
  readonly baseMs: number
  readonly previousMs: number
  readonly attempt: number
  readonly initialMs: number
  readonly maxMs: number
  readonly random: () => number
}

/** Turns the exponential delay into the one to wait; the result is rounded and floored at 0 by the caller. */
export type Jitter = (i: JitterInput) => number

/** No spread: exactly the exponential delay. */
export const noJitter: Jitter = (i) => i.baseMs

/** Uniform between `initialMs` and the exponential delay (AWS "full jitter", floored at the initial delay). */
export const fullJitter: Jitter = (i) => i.initialMs + i.random() * Math.max(0, i.baseMs - i.initialMs)

/**
 * Uniform in `base × [1 − factor, 1 + factor]` (cenkalti/backoff's randomizationFactor, which Dapr resiliency
 * uses); as there, the spread may exceed `maxMs` by the factor.
 */
export function proportionalJitter (factor: number): Jitter {
  if (!(factor >= 0 && factor <= 1)) throw new TypeError('jitter factor must be between 0 and 1')
  return (i) => {
    const delta = factor * i.baseMs
    return i.baseMs - delta + i.random() * 2 * delta
  }
}

/**
 * Decorrelated jitter (the AWS architecture blog's variant, which mosquitto's bridge uses): random between
 * `initialMs` and three times the previous delay, capped at `maxMs`. It ignores the multiplier.
 */
export const decorrelatedJitter: Jitter = (i) => {
  const upper = Math.max(i.initialMs, i.previousMs * 3)
  return Math.min(i.maxMs, i.initialMs + i.random() * (upper - i.initialMs))
}

export interface BackoffOptions {
  /** The first delay. */
  readonly initialMs: number
  /** No delay (before jitter) grows beyond this. */
  readonly maxMs: number
  /** @default 2 */
  readonly multiplier?: number
  /** @default fullJitter */
  readonly jitter?: Jitter
  /** The random source the jitter draws from (tests pass a constant). @default Math.random */
  readonly random?: () => number
}

/** The delay function for `opts`; checks the options once (a programmer mistake is a TypeError). */
export function exponentialBackoff (opts: BackoffOptions): DelayFn {
  const { initialMs, maxMs } = opts
  const multiplier = opts.multiplier ?? 2
  const jitter = opts.jitter ?? fullJitter
  const random = opts.random ?? Math.random
  if (!(initialMs >= 0) || !(maxMs >= initialMs)) throw new TypeError(`backoff needs 0 ≤ initialMs ≤ maxMs (got ${initialMs}, ${maxMs})`)
  if (!(multiplier >= 1)) throw new TypeError('backoff multiplier must be ≥ 1')
  return (attempt, previousMs) => {
    const baseMs = Math.min(maxMs, initialMs * Math.pow(multiplier, Math.max(0, attempt - 1)))
    return Math.max(0, Math.round(jitter({ baseMs, previousMs, attempt, initialMs, maxMs, random })))
  }
}

/** Counts attempts and remembers the previous delay; `reset()` after a success (or a stable period). */
export class Backoff {
  readonly #delay: DelayFn
  #attempt = 0
  #previousMs = 0

  constructor (delay: DelayFn | BackoffOptions) {
    this.#delay = typeof delay === 'function' ? delay : exponentialBackoff(delay)
  }

  /** Attempts counted since the last reset. */
  get attempt (): number { return this.#attempt }
  get previousMs (): number { return this.#previousMs }

  /** The delay before the next attempt (and counts that attempt). */
  next (): number {
    this.#attempt++
    const ms = Math.max(0, this.#delay(this.#attempt, this.#previousMs))
    this.#previousMs = ms
    return ms
  }

  reset (): void {
    this.#attempt = 0
    this.#previousMs = 0
  }
}
