/**
 * From protobuf messages (protobufjs objects as definitions.ts decodes them, snake_case) to the plain requests
 * of edge/services and back.
 * State values: bytes that are JSON (no contentType, or a JSON one) are stored as that JSON value, so an app
 * reading over HTTP gets what a gRPC app saved and the reverse; other bytes are stored verbatim.
 */
import { isJsonType } from '../services/state/values.ts'

export type Msg = Record<string, any>

export function concurrencyOf (options: Msg | null | undefined): string | undefined {
  const c = options?.concurrency
  if (c === 'CONCURRENCY_FIRST_WRITE') return 'first-write'
  if (c === 'CONCURRENCY_LAST_WRITE') return 'last-write'
  return undefined
}

export function valueFromBytes (bytes: Buffer, contentType: string | undefined): unknown {
  if (!isJsonType(contentType) || bytes.length === 0) return bytes
  try { return JSON.parse(bytes.toString('utf8')) } catch { return bytes }
}

export function bytesOfValue (value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))
}

/** A common.v1.StateItem as the state object the service validates. */
export function stateObject (item: Msg | null | undefined): Record<string, unknown> {
  const it = item ?? {}
  const metadata = (it.metadata ?? {}) as Record<string, string>
  const value = Buffer.isBuffer(it.value) ? it.value : Buffer.alloc(0)
  const concurrency = concurrencyOf(it.options)
  return {
    key: it.key ?? '',
    value: valueFromBytes(value, metadata.contentType),
    ...(it.etag?.value !== undefined && it.etag.value !== '' ? { etag: it.etag.value } : {}),
    metadata,
    ...(concurrency !== undefined ? { options: { concurrency } } : {}),
  }
}

/** HTTP verbs of common.v1.HTTPExtension.Verb; NONE means POST, as Dapr's gRPC → HTTP translation does. */
export function verbOf (ext: Msg | null | undefined): string {
  const v = ext?.verb
  return typeof v === 'string' && v !== 'NONE' ? v : 'POST'
}

/** The gRPC status an app's HTTP answer stands for (Dapr invokev1.CodeFromHTTPStatus). */
export function codeFromHttp (status: number): number {
  if (status >= 200 && status < 300) return 0
  switch (status) {
    case 400: return 3
    case 401: return 16
    case 403: return 7
    case 404: return 5
    case 409: return 10
    case 412: return 9
    case 429: return 8
    case 499: return 1
    case 501: return 12
    case 503: return 14
    case 504: return 4
    default: return status >= 500 ? 13 : 2
  }
}
