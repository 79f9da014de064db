import type { Clock } from '../../../core/clock.ts'

export interface LoginLimiterOptions {
  clock: Clock
  /** Failures allowed within `windowMs` before a lockout. @default 5 */
  maxFailures?: number
  /** @default 60_000 */
  windowMs?: number
  /** The first lockout; each further one doubles, up to `maxLockoutMs`. @default 60_000 */
  lockoutMs?: number
  /** @default 3_600_000 */
  maxLockoutMs?: number
  /** Failures from all addresses together within `windowMs` (against guessing from many addresses). @default 20 */
  maxGlobalFailures?: number
  /** Per-address records kept at most (the oldest are forgotten first). @default 1024 */
  maxAddresses?: number
}

interface Record { failures: number[]; lockouts: number; lockedUntil: number; lastFailure: number }

/**
 * Failed-login throttling, per client address and for all addresses together: `maxFailures` failures within
 * `windowMs` lock the address out for `lockoutMs`; every further lockout doubles it. A lockout answers at once
 * with 429 and Retry-After rather than holding the connection open (a small device should not park sockets).
 * A success clears that address's record; the count of lockouts decays after a quiet period.
 */
export class LoginLimiter {
  readonly #clock: Clock
  readonly #max: number
  readonly #maxGlobal: number
  readonly #window: number
  readonly #lockout: number
  readonly #maxLockout: number
  readonly #maxAddresses: number
  readonly #byAddress = new Map<string, Record>()
  readonly #global: Record = fresh()

  constructor (opts: LoginLimiterOptions) {
    this.#clock = opts.clock
    this.#max = opts.maxFailures ?? 5
    this.#maxGlobal = opts.maxGlobalFailures ?? 20
    this.#window = opts.windowMs ?? 60_000
    this.#lockout = opts.lockoutMs ?? 60_000
    this.#maxLockout = opts.maxLockoutMs ?? 3_600_000
    this.#maxAddresses = opts.maxAddresses ?? 1024
  }

  /** Milliseconds until `address` may try again; 0 = now. */
  retryAfterMs (address: string): number {
    const now = this.#clock.now()
    const own = this.#byAddress.get(address)
    return Math.max(0, (own?.lockedUntil ?? 0) - now, this.#global.lockedUntil - now)
  }

  failure (address: string): void {
    let own = this.#byAddress.get(address)
    if (own === undefined) {
      if (this.#byAddress.size >= this.#maxAddresses) this.#byAddress.delete(this.#byAddress.keys().next().value as string)
      own = fresh()
    } else {
      this.#byAddress.delete(address) // re-inserted below: the map stays in least-recently-failed order
    }
    this.#byAddress.set(address, own)
    this.#count(own, this.#max)
    this.#count(this.#global, this.#maxGlobal)
  }

  success (address: string): void {
    this.#byAddress.delete(address)
  }

  #count (r: Record, max: number): void {
    const now = this.#clock.now()
    // Quiet for a few windows past the last lockout: start the doubling again from the first step.
    if (r.lockouts > 0 && now - Math.max(r.lockedUntil, r.lastFailure) > 15 * this.#window) r.lockouts = 0
    r.lastFailure = now
    r.failures = r.failures.filter((t) => now - t < this.#window)
    r.failures.push(now)
    if (r.failures.length >= max) {
      r.lockedUntil = now + Math.min(this.#maxLockout, this.#lockout * 2 ** r.lockouts)
      r.lockouts++
      r.failures = []
    }
  }
}

function fresh (): Record { return { failures: [], lockouts: 0, lockedUntil: 0, lastFailure: 0 } }
