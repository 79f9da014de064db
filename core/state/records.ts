/**
 * What a state store keeps in LevelDB. Values are wrapped in a record (LevelDB cannot hold null, and the ETag,
 * content type and expiry travel with the value in the same atomic write). Expiring entries also get a key in
 * an expiry index, `<expiry ms, 15 digits>|<kind>|<stored key>`, so the sweeper reads only what is due, in
 * expiry order, and never scans the data.
 */
export interface StateRecord {
  /** The value: any JSON value, or a Buffer for raw bytes. */
  v: unknown
  /** Version (the ETag). */
  e: number
  /** Content type, when given at save time. */
  t?: string
  /** Expiry, ms since the epoch. */
  x?: number
}

export interface LockRecord {
  /** Owner. */
  o: string
  /** Expiry, ms since the epoch. */
  x: number
}

/** `s` = a state key, `l` = a lock. */
export type ExpiryKind = 's' | 'l'

const WIDTH = 15

export function expiryKey (at: number, kind: ExpiryKind, key: string): string {
  return `${String(Math.max(0, Math.floor(at))).padStart(WIDTH, '0')}|${kind}|${key}`
}

/** The first index key that is not yet due at `now` (an exclusive upper bound for a sweep). */
export function expiryBound (now: number): string {
  return String(Math.max(0, Math.floor(now)) + 1).padStart(WIDTH, '0')
}

export function parseExpiryKey (k: string): { at: number; kind: ExpiryKind; key: string } {
  return { at: Number(k.slice(0, WIDTH)), kind: k[WIDTH + 1] as ExpiryKind, key: k.slice(WIDTH + 3) }
}

export function isLive (rec: { x?: number } | undefined, now: number): boolean {
  return rec !== undefined && (rec.x === undefined || rec.x > now)
}
