/**
 * Validates the bodies of save and transaction requests (docs.dapr.io/reference/api/state_api) and turns
 * them into store requests on scoped keys. Every item is checked before the store is called, so one bad item
 * rejects the whole request with nothing written.
 */
import { MechaError } from '../../../core/errors.ts'
import type { KeyScope, SetRequest, TransactionOp } from '../../../core/state/index.ts'
import { bodyMetadata, concurrencyFrom, etagFrom, isObject, ttlFrom } from './fields.ts'
import { storedValue } from './values.ts'

export interface ItemContext {
  scope: KeyScope
  appId: string
  /** URL `metadata.*`: overrides an item's own metadata, as Dapr merges them. */
  urlMeta: Record<string, string>
  /** Metadata that an item's own overrides (the transaction body's `metadata`). */
  baseMeta?: Record<string, string>
  maxValueBytes: number
}

/** One state object of a save body, or the request of a transaction upsert. */
export function setRequest (raw: unknown, where: string, c: ItemContext): SetRequest {
  if (!isObject(raw)) throw new MechaError('ERR_MALFORMED_REQUEST', `${where} must be a state object`)
  if (typeof raw.key !== 'string' || raw.key === '') throw new MechaError('ERR_MALFORMED_REQUEST', `${where}: "key" is a required field`)
  const key = c.scope.scoped(c.appId, raw.key)
  if (!('value' in raw)) throw new MechaError('ERR_MALFORMED_REQUEST', `${where}: "value" is a required field`)
  const meta = { ...c.baseMeta, ...bodyMetadata(raw.metadata, where), ...c.urlMeta }
  const options = raw.options === undefined || raw.options === null ? {} : raw.options
  if (!isObject(options)) throw new MechaError('ERR_MALFORMED_REQUEST', `${where}.options must be an object`)
  const contentType = meta.contentType === '' ? undefined : meta.contentType
  const req: SetRequest = { key, value: storedValue(raw.value, contentType, raw.key, c.maxValueBytes) }
  const etag = etagFrom(raw.etag, where)
  if (etag !== undefined) req.etag = etag
  const concurrency = concurrencyFrom(options.concurrency, where)
  if (concurrency !== undefined) req.concurrency = concurrency
  const ttl = ttlFrom(meta)
  if (ttl !== undefined) req.ttlInSeconds = ttl
  if (contentType !== undefined) req.contentType = contentType
  return req
}

/** `{operations: [{operation, request}], metadata}` of `POST /v1.0/state/{store}/transaction`. */
export function transactionOps (body: unknown, c: ItemContext): TransactionOp[] {
  if (body === undefined) return []
  if (!isObject(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the transaction body must be an object with "operations"')
  if (body.operations === undefined || body.operations === null) return []
  if (!Array.isArray(body.operations)) throw new MechaError('ERR_MALFORMED_REQUEST', '"operations" must be an array')
  const ctx = { ...c, baseMeta: bodyMetadata(body.metadata, 'transaction') }
  return body.operations.map((op: unknown, i: number): TransactionOp => {
    const where = `operations[${i}]`
    if (!isObject(op)) throw new MechaError('ERR_MALFORMED_REQUEST', `${where} must be an object`)
    if (op.operation === 'upsert') return { operation: 'upsert', ...setRequest(op.request, `${where}.request`, ctx) }
    if (op.operation === 'delete') {
      const r = op.request
      if (!isObject(r)) throw new MechaError('ERR_MALFORMED_REQUEST', `${where}.request must be an object`)
      if (typeof r.key !== 'string' || r.key === '') throw new MechaError('ERR_MALFORMED_REQUEST', `${where}.request: "key" is a required field`)
      const options = isObject(r.options) ? r.options : {}
      const del: TransactionOp = { operation: 'delete', key: c.scope.scoped(c.appId, r.key) }
      const etag = etagFrom(r.etag, where)
      if (etag !== undefined) del.etag = etag
      const concurrency = concurrencyFrom(options.concurrency, where)
      if (concurrency !== undefined) del.concurrency = concurrency
      return del
    }
    throw new MechaError('ERR_NOT_SUPPORTED_STATE_OPERATION', `operation type ${JSON.stringify(op.operation)} not supported`)
  })
}
