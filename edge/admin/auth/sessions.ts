import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../../core/clock.ts'

export interface Session {
  readonly id: string
  /** Sent back in `x-csrf-token` on every state-changing request. */
  readonly csrfToken: string
  readonly createdAt: number
  lastSeenAt: number
}

export interface SessionStoreOptions {
  clock: Clock
  /** @default 1800 */
  idleTimeoutSeconds?: number
  /** @default 43200 */
  maxAgeSeconds?: number
  /** The oldest session is ended when a new one would pass this. @default 32 */
  maxSessions?: number
}

/**
 * Admin sessions, in memory only: a restart logs everyone out (nothing to steal from the disk, nothing to
 * migrate). A session ends after `idleTimeoutSeconds` without a request or `maxAgeSeconds` after login.
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>()
  readonly #clock: Clock
  readonly idleMs: number
  readonly maxAgeMs: number
  readonly #max: number

  constructor (opts: SessionStoreOptions) {
    this.#clock = opts.clock
    this.idleMs = (opts.idleTimeoutSeconds ?? 1800) * 1000
    this.maxAgeMs = (opts.maxAgeSeconds ?? 43_200) * 1000
    this.#max = opts.maxSessions ?? 32
  }

  create (): Session {
    this.#sweep()
    while (this.#sessions.size >= this.#max) this.#sessions.delete(this.#sessions.keys().next().value as string)
    const now = this.#clock.now()
    const s: Session = { id: token(), csrfToken: token(), createdAt: now, lastSeenAt: now }
    this.#sessions.set(s.id, s)
    return s
  }

  /** The live session with this id; `touch` (the default) counts the request as activity. */
  get (id: string | undefined, touch = true): Session | undefined {
    if (id === undefined || id === '') return undefined
    const s = this.#sessions.get(id)
    if (s === undefined) return undefined
    const now = this.#clock.now()
    if (this.#expired(s, now)) { this.#sessions.delete(id); return undefined }
    if (touch) s.lastSeenAt = now
    return s
  }

  /** When the session ends if it stays idle, and at the latest. */
  expiry (s: Session): { idleExpiresAt: number; expiresAt: number } {
    const expiresAt = s.createdAt + this.maxAgeMs
    return { idleExpiresAt: Math.min(expiresAt, s.lastSeenAt + this.idleMs), expiresAt }
  }

  delete (id: string): void { this.#sessions.delete(id) }

  /** Ends every session but `keep` (after a password change). */
  deleteAllBut (keep?: string): void {
    for (const id of [...this.#sessions.keys()]) if (id !== keep) this.#sessions.delete(id)
  }

  clear (): void { this.#sessions.clear() }

  get size (): number { this.#sweep(); return this.#sessions.size }

  #expired (s: Session, now: number): boolean {
    return now - s.lastSeenAt >= this.idleMs || now - s.createdAt >= this.maxAgeMs
  }

  #sweep (): void {
    const now = this.#clock.now()
    for (const [id, s] of this.#sessions) if (this.#expired(s, now)) this.#sessions.delete(id)
  }
}

/** 256 random bits. */
function token (): string { return randomBytes(32).toString('base64url') }

export function sameToken (a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false
  const x = Buffer.from(a); const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
