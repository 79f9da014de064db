/**
 * The `state.level` component: the Dapr state and lock APIs over one namespace of the runtime's LevelDB
 * (docs.dapr.io/reference/api/state_api). Each component gets its own namespace; values, ETags, TTLs and
 * locks of a write go to LevelDB in ONE atomic batch, so a transaction is all or nothing and a crash never
 * leaves a value without its expiry entry. Durability (kill -9 vs power cut) is the Store's setting.
 */
import type { Clock } from '../clock.ts'
import { systemClock } from '../clock.ts'
import { MechaError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { BatchOp, Namespace } from '../store/index.ts'
import { KeyedMutex } from '../keyed-mutex.ts'
import { KeyScope } from './key-scope.ts'
import { checkTryLock, checkUnlock, tryLock, unlock } from './lock-ops.ts'
import { parseQuery } from './query/parse.ts'
import { runQuery, type QueryRow } from './query/run.ts'
import { expiryKey, isLive, type StateRecord } from './records.ts'
import { stateLockKey, type StateSpaces } from './spaces.ts'
import { sweepExpired, TtlSweeper, type SweepStats } from './ttl-sweep.ts'
import type {
  DeleteRequest, QueryOptions, QueryResult, SetRequest, StateItem, StateQuery, StateStore, TransactionOp,
  TryLockRequest, UnlockRequest, UnlockStatus,
} from './types.ts'
import { checkDelete, checkKey, checkOps, checkSet, wantedEtag } from './validate.ts'
import { VersionCounter } from './version-counter.ts'
import { CallGroups, type PendingCall } from './call-groups.ts'

const MAX_CHAR = '\u{10FFFF}'

export interface LevelStateStoreOptions {
  /** The component's own namespace (e.g. `store.namespace('state-statestore')`); children hold the indexes. */
  namespace: Namespace<any>
  /** The component name (`metadata.name`). */
  name: string
  /** The component metadata `keyPrefix`: `appid` (default) | `name` | `none` | a custom prefix. */
  keyPrefix?: string
  /** @default systemClock */
  clock?: Clock
  /** How often the TTL sweeper looks for due entries. @default 10000 */
  sweepIntervalMs?: number
  /** Index entries per sweep batch (one LevelDB batch each). @default 256 */
  sweepBatchSize?: number
  /** Batches per sweep pass before yielding to other work. @default 16 */
  sweepMaxBatches?: number
  /** The most rows one query page holds (bounded memory; larger limits are paged). @default 1000 */
  maxQueryLimit?: number
  logger?: Logger
}

export class LevelStateStore implements StateStore {
  readonly name: string
  readonly keyScope: KeyScope
  readonly sweepStats: SweepStats = { batches: 0, deleted: 0 }
  readonly #s: StateSpaces
  readonly #versions: VersionCounter
  readonly #sweeper: TtlSweeper
  readonly #o: Required<Pick<LevelStateStoreOptions, 'sweepBatchSize' | 'sweepMaxBatches' | 'maxQueryLimit'>>
  #closed = false
  readonly #inflight = new Set<Promise<unknown>>()
  readonly #writes = new CallGroups<readonly TransactionOp[], Map<string, string>>((group) => this.#commitGroup(group))
  readonly #reads = new CallGroups<readonly string[], Array<StateRecord | undefined>>((group) => this.#readGroup(group))

  private constructor (o: LevelStateStoreOptions, s: StateSpaces, versions: VersionCounter) {
    this.name = o.name
    this.keyScope = KeyScope.from(o.keyPrefix, o.name)
    this.#s = s
    this.#versions = versions
    this.#o = { sweepBatchSize: o.sweepBatchSize ?? 256, sweepMaxBatches: o.sweepMaxBatches ?? 16, maxQueryLimit: o.maxQueryLimit ?? 1000 }
    this.#sweeper = new TtlSweeper({ clock: s.clock, intervalMs: o.sweepIntervalMs ?? 10_000, sweep: () => this.sweep(), logger: o.logger })
  }

  static async create (o: LevelStateStoreOptions): Promise<LevelStateStore> {
    if (typeof o?.name !== 'string' || o.name === '') throw new TypeError('state store name is required')
    KeyScope.from(o.keyPrefix, o.name) // validates keyPrefix before anything is opened
    const ns = o.namespace
    const s: StateSpaces = {
      data: ns, ttl: ns.namespace('ttl'), locks: ns.namespace('locks'), mutex: new KeyedMutex(), clock: o.clock ?? systemClock,
    }
    const versions = await VersionCounter.create(ns.namespace('meta'))
    return new LevelStateStore(o, s, versions)
  }

  // --- public methods validate; the _methods below do the I/O

  async get (key: string): Promise<StateItem | undefined> {
    this.#assertOpen(); checkKey(key)
    return (await this._getMany([key]))[0]
  }

  async bulkGet (keys: readonly string[]): Promise<Array<StateItem | undefined>> {
    this.#assertOpen()
    if (!Array.isArray(keys)) throw new TypeError('keys must be an array')
    for (const k of keys) checkKey(k)
    return await this._getMany(keys)
  }

  async set (req: SetRequest): Promise<string> {
    this.#assertOpen(); checkSet(req)
    const etags = await this.#track(this._transact([{ operation: 'upsert', ...req }]))
    return etags.get(req.key)!
  }

  async delete (req: DeleteRequest): Promise<void> {
    this.#assertOpen(); checkDelete(req)
    await this.#track(this._transact([{ operation: 'delete', ...req }]))
  }

  async transact (ops: readonly TransactionOp[]): Promise<void> {
    this.#assertOpen(); checkOps(ops)
    if (ops.length > 0) await this.#track(this._transact(ops))
  }

  async query (query: StateQuery, opts: QueryOptions = {}): Promise<QueryResult> {
    this.#assertOpen()
    const parsed = parseQuery(query, this.#o.maxQueryLimit)
    const prefix = opts.prefix ?? ''
    return await runQuery(parsed, (after) => this._scan(prefix, after), prefix)
  }

  async tryLock (req: TryLockRequest): Promise<boolean> {
    this.#assertOpen(); checkTryLock(req)
    return await this.#track(tryLock(this.#s, req))
  }

  async unlock (req: UnlockRequest): Promise<UnlockStatus> {
    this.#assertOpen(); checkUnlock(req)
    return await this.#track(unlock(this.#s, req))
  }

  /** One bounded sweep pass (the timer calls it; tests may too). Resolves true when more entries are due. */
  async sweep (): Promise<boolean> {
    if (this.#closed) return false
    return await sweepExpired(this.#s, this.#o.sweepBatchSize, this.#o.sweepMaxBatches, this.sweepStats)
  }

  /** Resolves when the sweep pass in flight (if any) is done. */
  get sweeping (): Promise<void> { return this.#sweeper.running }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#sweeper.close()
    // Let accepted writes finish before the owner closes the Store under them.
    await Promise.allSettled([...this.#inflight])
  }

  // --- I/O

  async _getMany (keys: readonly string[]): Promise<Array<StateItem | undefined>> {
    const recs = await this.#reads.submit(keys)
    const now = this.#s.clock.now()
    return recs.map((rec, i) => (isLive(rec, now) ? toItem(keys[i], rec!) : undefined))
  }

  /** Concurrent reads as one multi-get (call-groups.ts); each caller gets its own keys' records. */
  async #readGroup (group: Array<PendingCall<readonly string[], Array<StateRecord | undefined>>>): Promise<void> {
    if (group.length === 1) { group[0]!.resolve(await this.#s.data.getMany(group[0]!.ops)); return }
    const keys = [...new Set(group.flatMap((c) => c.ops))]
    const recs = await this.#s.data.getMany(keys)
    const byKey = new Map(keys.map((k, i) => [k, recs[i]]))
    // Two callers asking for one key each get their own copy, as with separate reads (a caller may change it).
    const handedOut = new Set<string>()
    for (const c of group) {
      c.resolve(c.ops.map((k) => {
        const rec = byKey.get(k)
        if (rec === undefined || !handedOut.has(k)) { handedOut.add(k); return rec }
        return structuredClone(rec)
      }))
    }
  }

  /**
   * Applies the ops in order against the current values, as one all-or-nothing step. Concurrent calls are
   * committed together (call-groups.ts): one read and ONE atomic batch per group.
   */
  async _transact (ops: readonly TransactionOp[]): Promise<Map<string, string>> {
    return await this.#writes.submit(ops)
  }

  /**
   * One group of transactions, in submission order, under every touched key's lock: each is checked (ETags,
   * first-write) against the values the ones before it left, and one that fails is rejected alone, changing
   * nothing; the accepted ones go to LevelDB in ONE batch and are answered only after it is written.
   */
  async #commitGroup (group: Array<PendingCall<readonly TransactionOp[], Map<string, string>>>): Promise<void> {
    const keys = [...new Set(group.flatMap((w) => w.ops.map((op) => op.key)))]
    await this.#s.mutex.run(keys.map(stateLockKey), async () => {
      const stored = await this.#s.data.getMany(keys)
      const now = this.#s.clock.now()
      const before = new Map<string, StateRecord | undefined>(keys.map((k, i) => [k, stored[i]]))
      const current = new Map<string, StateRecord | undefined>(keys.map((k, i) => [k, isLive(stored[i], now) ? stored[i] : undefined]))
      const touched = new Set<string>()
      const accepted: Array<{ w: PendingCall<readonly TransactionOp[], Map<string, string>>; etags: Map<string, string> }> = []
      for (const w of group) {
        const mine = new Map<string, StateRecord | undefined>()
        try {
          for (const op of w.ops) {
            checkConcurrency(op, mine.has(op.key) ? mine.get(op.key) : current.get(op.key))
            if (op.operation === 'delete') { mine.set(op.key, undefined); continue }
            const rec: StateRecord = { v: op.value, e: await this.#versions.next() }
            if (op.contentType !== undefined) rec.t = op.contentType
            if (op.ttlInSeconds !== undefined && op.ttlInSeconds > 0) rec.x = now + op.ttlInSeconds * 1000
            mine.set(op.key, rec)
          }
        } catch (err) { w.reject(err); continue }
        const etags = new Map<string, string>()
        for (const [key, rec] of mine) {
          current.set(key, rec); touched.add(key)
          if (rec !== undefined) etags.set(key, String(rec.e))
        }
        accepted.push({ w, etags })
      }
      const batch: Array<BatchOp<any>> = []
      for (const key of touched) {
        const old = before.get(key); const rec = current.get(key)
        if (old === undefined && rec === undefined) continue
        if (old?.x !== undefined) batch.push({ type: 'del', key: expiryKey(old.x, 's', key), ns: this.#s.ttl })
        if (rec === undefined) { batch.push({ type: 'del', key }); continue }
        batch.push({ type: 'put', key, value: rec })
        if (rec.x !== undefined) batch.push({ type: 'put', key: expiryKey(rec.x, 's', key), value: 1, ns: this.#s.ttl })
      }
      if (batch.length > 0) await this.#s.data.batch(batch)
      for (const { w, etags } of accepted) w.resolve(etags)
    })
  }

  async * _scan (prefix: string, after: string | undefined): AsyncIterable<QueryRow> {
    const range = after === undefined
      ? (prefix === '' ? {} : { prefix })
      : (prefix === '' ? { gt: after } : { gt: after, lt: prefix + MAX_CHAR })
    for await (const [key, rec] of this.#s.data.entries(range)) {
      if (!isLive(rec, this.#s.clock.now())) continue
      const item = toItem(key, rec)
      yield { key, value: item.value, etag: item.etag, ...(item.contentType !== undefined ? { contentType: item.contentType } : {}) }
    }
  }

  #track<T> (p: Promise<T>): Promise<T> {
    this.#inflight.add(p)
    const done = (): void => { this.#inflight.delete(p) }
    p.then(done, done)
    return p
  }

  #assertOpen (): void {
    if (this.#closed) throw new MechaError('MECHA_ERR_STORE_CLOSED', `state store ${this.name} is closed`)
  }
}

/** Dapr's concurrency rules (docs.dapr.io/developing-applications/building-blocks/state-management/state-management-overview/#concurrency). */
function checkConcurrency (op: TransactionOp, cur: StateRecord | undefined): void {
  const etag = wantedEtag(op)
  if (etag !== undefined) {
    if (cur === undefined || String(cur.e) !== etag) {
      throw new MechaError('ERR_ETAG_MISMATCH', `possible etag mismatch for key ${op.key}: ${cur === undefined ? 'no such key' : 'the value changed'}`)
    }
  } else if (op.concurrency === 'first-write' && op.operation === 'upsert' && cur !== undefined) {
    // first-write without an ETag may only create.
    throw new MechaError('ERR_ETAG_MISMATCH', `possible etag mismatch for key ${op.key}: it exists and first-write needs its ETag`)
  }
}

function toItem (key: string, rec: StateRecord): StateItem {
  let v = rec.v
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) v = Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  const item: StateItem = { key, value: v, etag: String(rec.e) }
  if (rec.t !== undefined) item.contentType = rec.t
  if (rec.x !== undefined) item.expiresAt = rec.x
  return item
}
