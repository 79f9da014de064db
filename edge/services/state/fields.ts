/**
 * Fields of state and lock requests (metadata maps, TTL, concurrency, ETags), checked the same way whichever
 * transport carried them (CONVENTIONS 14): HTTP JSON bodies and gRPC messages end up as these plain values.
 */
import { MechaError } from '../../../core/errors.ts'

export function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}

/** A body metadata map: string values (numbers and booleans are accepted and stringified). */
export function bodyMetadata (raw: unknown, where: string): Record<string, string> {
  if (raw === undefined || raw === null) return {}
  if (!isObject(raw)) throw new MechaError('ERR_MALFORMED_REQUEST', `${where}.metadata must be an object of strings`)
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'string') out[k] = v
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v)
    else throw new MechaError('ERR_MALFORMED_REQUEST', `${where}.metadata.${k} must be a string`)
  }
  return out
}

/** `metadata.ttlInSeconds`: an integer, -1 = never (docs.dapr.io/developing-applications/building-blocks/state-management/state-store-ttl). */
export function ttlFrom (meta: Record<string, string>): number | undefined {
  const raw = meta.ttlInSeconds
  if (raw === undefined || raw === '') return undefined
  if (!/^-?\d{1,15}$/.test(raw.trim())) throw new MechaError('ERR_MALFORMED_REQUEST', `metadata.ttlInSeconds must be an integer, got ${JSON.stringify(raw)}`)
  return Number(raw.trim())
}

export function concurrencyFrom (raw: unknown, where: string): 'first-write' | 'last-write' | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined
  if (raw === 'first-write' || raw === 'last-write') return raw
  throw new MechaError('ERR_MALFORMED_REQUEST', `${where}: concurrency must be first-write or last-write, got ${JSON.stringify(raw)}`)
}

/** ETags travel as strings; a number is taken as its decimal text, null/"" as none. */
export function etagFrom (raw: unknown, where: string): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined
  if (typeof raw === 'string') return raw
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw)
  throw new MechaError('ERR_MALFORMED_REQUEST', `${where}: etag must be a string`)
}
