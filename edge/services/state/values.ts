/**
 * How values cross the API (HTTP, and gRPC through the same service). Values keep their JSON type: what an app saves as a JSON string, number,
 * object, array, boolean or null it reads back the same. Raw bytes: a save whose `metadata.contentType` is not
 * JSON stores bytes — the UTF-8 of a string value for `text/*`, the base64-decoded string otherwise — and a get
 * returns those bytes verbatim with that Content-Type (docs.dapr.io/reference/api/state_api/#get-state).
 * Where bytes must sit inside JSON (bulk get, query) they appear as text for `text/*` and base64 otherwise.
 */
import { MechaError } from '../../../core/errors.ts'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export function isJsonType (ct: string | undefined): boolean {
  if (ct === undefined || ct === '') return true
  const t = ct.split(';')[0].trim().toLowerCase()
  return t === 'application/json' || t === 'text/json' || t.endsWith('+json')
}

const isText = (ct: string): boolean => ct.trim().toLowerCase().startsWith('text/')

/** The value to store for a request value, checked against the size limit (bytes of its JSON or raw form). */
export function storedValue (value: unknown, contentType: string | undefined, key: string, maxBytes: number): unknown {
  let stored = value
  let size: number
  // Bytes as they came (a gRPC StateItem whose value is not JSON): stored verbatim.
  if (Buffer.isBuffer(value)) {
    size = value.length
  } else if (!isJsonType(contentType) && typeof value === 'string') {
    if (isText(contentType!)) stored = Buffer.from(value, 'utf8')
    else if (BASE64.test(value.replace(/\s+/g, ''))) stored = Buffer.from(value, 'base64')
    else throw new MechaError('ERR_MALFORMED_REQUEST', `key ${key}: a ${contentType} value must be a base64 string`)
    size = (stored as Buffer).length
  } else {
    size = Buffer.byteLength(JSON.stringify(value))
  }
  if (size > maxBytes) {
    throw new MechaError('ERR_BODY_TOO_LARGE', `the value of key ${key} is ${size} bytes, over the limit of ${maxBytes}`)
  }
  return stored
}

/** The HTTP body and Content-Type of a GET. */
export function responseBody (value: unknown, contentType: string | undefined): { body: string | Buffer; type: string } {
  if (Buffer.isBuffer(value)) return { body: value, type: contentType ?? 'application/octet-stream' }
  return { body: JSON.stringify(value), type: 'application/json' }
}

/** A value inside a JSON answer (bulk get, query). */
export function jsonData (value: unknown, contentType: string | undefined): unknown {
  if (!Buffer.isBuffer(value)) return value
  return contentType !== undefined && isText(contentType) ? value.toString('utf8') : value.toString('base64')
}

/** Dapr reports expiry as RFC 3339 in UTC (`ttlExpireTime`). */
export function expireTime (at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
