/**
 * Argument checks of the public store methods (abstract-level style: the public method validates, `_method`
 * does the I/O). Bad requests become the Dapr-facing codes; the HTTP routes map them to the right family.
 */
import { MechaError } from '../errors.ts'
import { isWellFormedEtag } from './version-counter.ts'
import type { DeleteRequest, SetRequest, TransactionOp } from './types.ts'

export function checkKey (key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') throw new MechaError('ERR_STATE_KEY_INVALID', 'the key must be a non-empty string')
}

function checkConcurrency (c: unknown): void {
  if (c !== undefined && c !== 'first-write' && c !== 'last-write') {
    throw new MechaError('ERR_MALFORMED_REQUEST', `concurrency must be first-write or last-write, got ${String(c)}`)
  }
}

/** Empty ETags count as none (Dapr treats `""` so). Only ETags that will be checked must be well formed. */
function checkEtag (req: { etag?: unknown; concurrency?: unknown }): void {
  const { etag } = req
  if (etag === undefined || etag === '' || req.concurrency === 'last-write') return
  if (typeof etag !== 'string' || !isWellFormedEtag(etag)) {
    throw new MechaError('ERR_MALFORMED_ETAG', `malformed ETag ${JSON.stringify(etag)}: this store's ETags are decimal versions`)
  }
}

export function checkTtl (ttl: unknown): void {
  if (ttl === undefined || ttl === -1) return
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new MechaError('ERR_MALFORMED_REQUEST', `ttlInSeconds must be a positive integer or -1, got ${String(ttl)}`)
  }
}

export function checkSet (req: SetRequest): void {
  if (typeof req !== 'object' || req === null) throw new TypeError('set request must be an object')
  checkKey(req.key)
  if (req.value === undefined) throw new MechaError('ERR_MALFORMED_REQUEST', `"value" is required (key ${req.key})`)
  checkConcurrency(req.concurrency)
  checkEtag(req)
  checkTtl(req.ttlInSeconds)
  if (req.contentType !== undefined && typeof req.contentType !== 'string') {
    throw new MechaError('ERR_MALFORMED_REQUEST', 'contentType must be a string')
  }
}

export function checkDelete (req: DeleteRequest): void {
  if (typeof req !== 'object' || req === null) throw new TypeError('delete request must be an object')
  checkKey(req.key)
  checkConcurrency(req.concurrency)
  checkEtag(req)
}

export function checkOps (ops: readonly TransactionOp[]): void {
  if (!Array.isArray(ops)) throw new TypeError('operations must be an array')
  for (const op of ops) {
    if (op?.operation === 'upsert') checkSet(op)
    else if (op?.operation === 'delete') checkDelete(op)
    else throw new MechaError('ERR_NOT_SUPPORTED_STATE_OPERATION', `operation type ${String((op as { operation?: unknown })?.operation)} is not supported`)
  }
}

/** The ETag a request wants checked, or undefined when none applies. */
export function wantedEtag (req: { etag?: string; concurrency?: string }): string | undefined {
  if (req.concurrency === 'last-write' || req.etag === undefined || req.etag === '') return undefined
  return req.etag
}
