import type { DesiredDocument, StateAccess } from '../../core/state/shadow.ts'
import type { DeleteRequest, QueryOptions, QueryResult, SetRequest, StateItem, StateQuery, StateStore, TransactionOp, TryLockRequest, UnlockRequest, UnlockStatus } from '../../core/state/index.ts'

type Watcher = { prefix: string; fn: (key: string, value: unknown) => void }

/** Where the version of the last desired document applied is kept: a key no app can address (app id `$mecha`). */
const VERSION_KEY = '$mecha||shadow-desired-version'

/**
 * The cloud shadow's view of one state store: a StateStore decorator that reports every committed change
 * (so the bridge can report it, coalesced) and applies desired documents with a version check in the same
 * atomic transaction as the values. Keys are the stored keys (`<appId>||<key>`), so `cloud.stateSync.prefix`
 * can select one app's keys (`thermo||`).
 */
export class ShadowedStateStore implements StateStore {
  readonly #inner: StateStore
  readonly #watchers = new Set<Watcher>()
  #tail: Promise<unknown> = Promise.resolve()

  constructor (inner: StateStore) { this.#inner = inner }

  get name (): string { return this.#inner.name }
  get keyScope (): StateStore['keyScope'] { return this.#inner.keyScope }

  /** The bridge's view: values (not state items), change notifications, desired documents. */
  access (): StateAccess {
    return {
      watch: (prefix, fn) => {
        const w = { prefix, fn }
        this.#watchers.add(w)
        return () => { this.#watchers.delete(w) }
      },
      get: async (key) => (await this.#inner.get(key))?.value,
      applyDesired: (doc) => this.#applyDesired(doc),
    }
  }

  async get (key: string): Promise<StateItem | undefined> { return await this.#inner.get(key) }

  #applyDesired (doc: DesiredDocument): Promise<boolean> {
    // One at a time, and the version is checked by ETag inside the transaction, so neither two desired
    // documents nor a racing writer can make an older version win.
    const run = async (): Promise<boolean> => {
      const current = await this.#inner.get(VERSION_KEY)
      const version = (current?.value as number | undefined) ?? -Infinity
      if (!(doc.version > version)) return false
      const ops: TransactionOp[] = Object.entries(doc.state).map(([key, value]) => (value === null || value === undefined
        ? { operation: 'delete', key }
        : { operation: 'upsert', key, value }))
      ops.push({ operation: 'upsert', key: VERSION_KEY, value: doc.version, etag: current?.etag, concurrency: current === undefined ? 'last-write' : 'first-write' })
      await this.#inner.transact(ops)
      for (const [key, value] of Object.entries(doc.state)) this.#notify(key, value ?? undefined)
      return true
    }
    const p = this.#tail.then(run, run)
    this.#tail = p.catch(() => {})
    return p
  }

  // --- StateStore, notifying after each commit
  async bulkGet (keys: readonly string[]): Promise<Array<StateItem | undefined>> { return await this.#inner.bulkGet(keys) }

  async set (req: SetRequest): Promise<string> {
    const etag = await this.#inner.set(req)
    this.#notify(req.key, req.value)
    return etag
  }

  async delete (req: DeleteRequest): Promise<void> {
    await this.#inner.delete(req)
    this.#notify(req.key, undefined)
  }

  async transact (ops: readonly TransactionOp[]): Promise<void> {
    await this.#inner.transact(ops)
    for (const op of ops) this.#notify(op.key, op.operation === 'upsert' ? op.value : undefined)
  }

  /** The version record lives among the values (one atomic transaction with them); a query never shows it. */
  async query (query: StateQuery, opts?: QueryOptions): Promise<QueryResult> {
    const result = await this.#inner.query(query, opts)
    return { ...result, results: result.results.filter((r) => r.key !== VERSION_KEY) }
  }
  async tryLock (req: TryLockRequest): Promise<boolean> { return await this.#inner.tryLock(req) }
  async unlock (req: UnlockRequest): Promise<UnlockStatus> { return await this.#inner.unlock(req) }
  async close (): Promise<void> { await this.#inner.close() }

  #notify (key: string, value: unknown): void {
    if (key === VERSION_KEY) return
    for (const w of this.#watchers) if (key.startsWith(w.prefix)) w.fn(key, value)
  }
}
