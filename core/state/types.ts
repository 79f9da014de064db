/**
 * The state building block as the rest of the runtime sees it: the operations of the Dapr state API
 * (docs.dapr.io/reference/api/state_api) and the lock API (docs.dapr.io/reference/api/distributed_lock_api),
 * on keys that are already scoped (`<appId>||<key>`, see key-scope.ts). The HTTP routes validate requests and
 * scope keys; a store validates its own arguments and does the I/O.
 */
import type { KeyScope } from './key-scope.ts'

/** Dapr's concurrency option: `first-write` checks ETags (and refuses to create over an existing key when no
 *  ETag is given), `last-write` ignores them. Unset: an ETag is checked when one is given. */
export type Concurrency = 'first-write' | 'last-write'

/** A stored value as read back. */
export interface StateItem {
  key: string
  /** A JSON value (any JSON type, `null` included), or a Buffer for raw bytes. */
  value: unknown
  /** The version of the value: a decimal string that grows with every write to the key (never reused). */
  etag: string
  /** The content type given at save time, if any (raw bytes keep theirs). */
  contentType?: string
  /** When the value expires (ms since the epoch), when it was saved with a TTL. */
  expiresAt?: number
}

export interface SetRequest {
  key: string
  value: unknown
  etag?: string
  concurrency?: Concurrency
  /** Seconds until the value expires; -1 or unset = never. */
  ttlInSeconds?: number
  contentType?: string
}

export interface DeleteRequest {
  key: string
  etag?: string
  concurrency?: Concurrency
}

export type TransactionOp =
  | ({ operation: 'upsert' } & SetRequest)
  | ({ operation: 'delete' } & DeleteRequest)

/** The Dapr state query language (docs.dapr.io/reference/api/state_api/#query-state). */
export type QueryFilter =
  | { EQ: Record<string, unknown> }
  | { NEQ: Record<string, unknown> }
  | { GT: Record<string, unknown> }
  | { GTE: Record<string, unknown> }
  | { LT: Record<string, unknown> }
  | { LTE: Record<string, unknown> }
  | { IN: Record<string, unknown[]> }
  | { AND: QueryFilter[] }
  | { OR: QueryFilter[] }

export interface StateQuery {
  filter?: QueryFilter
  sort?: Array<{ key: string; order?: 'ASC' | 'DESC' }>
  page?: { limit?: number; token?: string }
}

export interface QueryOptions {
  /** Only keys starting with this prefix (the caller's app scope). */
  prefix?: string
}

export interface QueryResult {
  results: Array<{ key: string; value: unknown; etag: string; contentType?: string }>
  /** Present when more results may follow: pass it back as `page.token`. */
  token?: string
}

export interface TryLockRequest { resourceId: string; lockOwner: string; expiryInSeconds: number }
export interface UnlockRequest { resourceId: string; lockOwner: string }

/** Dapr's unlock statuses: 0 success, 1 lock does not exist, 2 lock belongs to others (3 internal error). */
export type UnlockStatus = 0 | 1 | 2 | 3

/** The lock building block (docs.dapr.io/reference/api/distributed_lock_api). */
export interface LockStore {
  readonly name: string
  readonly keyScope: KeyScope
  /** True when the lock was free (or expired) and is now held by `lockOwner` until the expiry. */
  tryLock(req: TryLockRequest): Promise<boolean>
  unlock(req: UnlockRequest): Promise<UnlockStatus>
}

export interface StateStore extends LockStore {
  get(key: string): Promise<StateItem | undefined>
  bulkGet(keys: readonly string[]): Promise<Array<StateItem | undefined>>
  /** Resolves to the new ETag. */
  set(req: SetRequest): Promise<string>
  delete(req: DeleteRequest): Promise<void>
  /** All operations or none, applied in order (a later op sees an earlier one), in one atomic write. */
  transact(ops: readonly TransactionOp[]): Promise<void>
  query(query: StateQuery, opts?: QueryOptions): Promise<QueryResult>
  /** Idempotent; stops the TTL sweeper. Does not close the underlying Store. */
  close(): Promise<void>
}
