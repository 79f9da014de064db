/**
 * The Dapr state building block without a transport (CONVENTIONS 14, as Dapr's pkg/api/universal): save, get,
 * delete, bulk get/delete, transactions and the alpha query, on plain requests and a resolved caller. Keys are
 * scoped here (`<appId>||<key>`, per the store's keyPrefix), every item is validated before the store runs (one
 * bad item rejects the request with nothing written), and store failures get Dapr's codes (stateFailure).
 * The HTTP routes (edge/api/routes/state.ts) and the gRPC methods (edge/grpc/state-methods.ts) adapt to it.
 */
import { MechaError } from '../../core/errors.ts'
import type { QueryResult, StateItem, StateStore, TransactionOp } from '../../core/state/index.ts'
import type { Caller } from './caller.ts'
import { concurrencyFrom } from './state/fields.ts'
import { stateFailure } from './state/errors.ts'
import { setRequest, transactionOps, type ItemContext } from './state/requests.ts'

export interface StateServiceDeps {
  stores: (name: string) => StateStore | undefined
  storeNames: () => string[]
  /** The largest value one key may hold, in bytes (of its JSON, or raw bytes). Read per request. */
  readonly maxValueBytes: number
}

/** A delete: the key as the app knows it, an optional ETag and concurrency (`first-write` | `last-write`). */
export interface DeleteInput { key: string; etag?: string; concurrency?: unknown }

export class StateService {
  readonly #d: StateServiceDeps

  constructor (deps: StateServiceDeps) { this.#d = deps }

  /** The named store; ERR_STATE_STORE_NOT_CONFIGURED / ERR_STATE_STORE_NOT_FOUND as Dapr answers. */
  store (name: string): StateStore {
    if (this.#d.storeNames().length === 0) throw new MechaError('ERR_STATE_STORE_NOT_CONFIGURED', 'state store is not configured')
    const store = this.#d.stores(name)
    if (store === undefined) throw new MechaError('ERR_STATE_STORE_NOT_FOUND', `state store ${name} is not found`)
    return store
  }

  #context (caller: Caller, store: StateStore, requestMeta: Record<string, string>): ItemContext {
    return { scope: store.keyScope, appId: caller.appId, urlMeta: requestMeta, maxValueBytes: this.#d.maxValueBytes }
  }

  /**
   * Saves Dapr state objects `{key, value, etag?, metadata?, options?}` in one atomic batch. A `value` that is a
   * Buffer is stored as bytes; any other is a JSON value (or base64/text for a non-JSON `metadata.contentType`).
   */
  async save (caller: Caller, storeName: string, items: readonly unknown[], requestMeta: Record<string, string> = {}): Promise<void> {
    const store = this.store(storeName)
    const ctx = this.#context(caller, store, requestMeta)
    const ops = items.map((item, i) => ({ operation: 'upsert' as const, ...setRequest(item, `state[${i}]`, ctx) }))
    try { await store.transact(ops) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_SAVE', `failed saving state in state store ${store.name}`)
    }
  }

  async get (caller: Caller, storeName: string, key: string): Promise<StateItem | undefined> {
    const store = this.store(storeName)
    const scoped = store.keyScope.scoped(caller.appId, key)
    try { return await store.get(scoped) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_GET', `fail to get ${key} from state store ${store.name}`)
    }
  }

  /** One multi-get answers all keys at once, so Dapr's `parallelism` has nothing to tune here. */
  async bulkGet (caller: Caller, storeName: string, keys: readonly string[]): Promise<Array<{ key: string; item?: StateItem }>> {
    const store = this.store(storeName)
    const scoped = keys.map((k) => store.keyScope.scoped(caller.appId, k))
    let items
    try { items = await store.bulkGet(scoped) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_BULK_GET', `failed getting state in bulk from state store ${store.name}`)
    }
    return keys.map((key, i) => items[i] === undefined ? { key } : { key, item: items[i] })
  }

  async delete (caller: Caller, storeName: string, req: DeleteInput): Promise<void> {
    const store = this.store(storeName)
    const scoped = store.keyScope.scoped(caller.appId, req.key)
    const concurrency = concurrencyFrom(req.concurrency, 'delete')
    try {
      await store.delete({ key: scoped, ...(req.etag !== undefined && req.etag !== '' ? { etag: req.etag } : {}), ...(concurrency ? { concurrency } : {}) })
    } catch (err) {
      throw stateFailure(err, 'ERR_STATE_DELETE', `failed deleting state with key ${req.key}`)
    }
  }

  /** gRPC DeleteBulkState: every delete validated first, then all in one atomic batch. */
  async deleteBulk (caller: Caller, storeName: string, reqs: readonly DeleteInput[]): Promise<void> {
    const store = this.store(storeName)
    const ops: TransactionOp[] = reqs.map((r, i) => {
      if (r.key === '') throw new MechaError('ERR_MALFORMED_REQUEST', `states[${i}]: "key" is a required field`)
      const concurrency = concurrencyFrom(r.concurrency, `states[${i}]`)
      return { operation: 'delete', key: store.keyScope.scoped(caller.appId, r.key), ...(r.etag !== undefined && r.etag !== '' ? { etag: r.etag } : {}), ...(concurrency ? { concurrency } : {}) }
    })
    try { await store.transact(ops) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_DELETE', `failed deleting state in state store ${store.name}`)
    }
  }

  /** `{operations: [{operation, request}], metadata}` (the HTTP transaction body shape). */
  async transact (caller: Caller, storeName: string, body: unknown, requestMeta: Record<string, string> = {}): Promise<void> {
    const store = this.store(storeName)
    const ops = transactionOps(body, this.#context(caller, store, requestMeta))
    try { await store.transact(ops) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_TRANSACTION', 'error while executing state transaction')
    }
  }

  /** The alpha query API over the caller's own keys; result keys are the caller's (unscoped). */
  async query (caller: Caller, storeName: string, query: unknown): Promise<QueryResult> {
    const store = this.store(storeName)
    if (query === undefined) throw new MechaError('ERR_MALFORMED_REQUEST', 'the query body is required')
    let result
    try { result = await store.query(query as never, { prefix: store.keyScope.prefixFor(caller.appId) }) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_QUERY', `failed query in state store ${store.name}`)
    }
    return { ...result, results: result.results.map((r) => ({ ...r, key: store.keyScope.original(r.key) })) }
  }
}
