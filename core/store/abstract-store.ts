import type { BatchOp, Durability, Namespace, RangeOptions, Store } from './store.ts'
import { cborEncoding } from './cbor.ts'
import { GroupCommit } from './group-commit.ts'
import { MechaError } from '../errors.ts'

// The highest code point: `prefix + MAX_CHAR` sorts after every key that starts with `prefix` (UTF-8 bytewise).
const MAX_CHAR = '\u{10FFFF}'
const NAME = /^[a-z0-9][a-z0-9._-]*$/i

/**
 * The Store over any abstract-level database (classic-level on disk, memory-level in memory). Subclasses only
 * open and close the database; namespaces, encoding, group commit and range handling live here once.
 */
export abstract class AbstractStore implements Store {
  readonly durability: Durability
  status: Store['status'] = 'opening'
  protected readonly db: any
  readonly #commit: GroupCommit<any>
  readonly #namespaces = new Map<string, LevelNamespace<any>>()

  protected constructor (db: any, durability: Durability) {
    this.db = db
    this.durability = durability
    this.#commit = new GroupCommit((ops) => this.db.batch(ops, { sync: true }))
  }

  /** Writes issued and fsyncs performed (power durability), so tests and metrics can see group commit work. */
  get commitStats (): { writes: number; syncs: number } {
    return { writes: this.#commit.writes, syncs: this.#commit.syncs }
  }

  namespace<V = unknown> (name: string): Namespace<V> {
    if (!NAME.test(name)) throw new TypeError(`invalid namespace name: ${name}`)
    let ns = this.#namespaces.get(name)
    if (ns === undefined) {
      ns = new LevelNamespace(this, this.db.sublevel(name, { keyEncoding: 'utf8', valueEncoding: cborEncoding }), name)
      this.#namespaces.set(name, ns)
    }
    return ns
  }

  /** @internal every write funnels through here so durability is applied in one place. */
  async _write (ops: any[]): Promise<void> {
    this.#assertOpen()
    try {
      if (this.durability === 'power') await this.#commit.write(ops)
      else await this.db.batch(ops)
    } catch (err) {
      throw wrapStoreError(err, 'MECHA_ERR_STORE_WRITE')
    }
  }

  /** @internal */
  _assertOpen (): void { this.#assertOpen() }

  #assertOpen (): void {
    if (this.status !== 'open') throw new MechaError('MECHA_ERR_STORE_CLOSED', `store is ${this.status}`)
  }

  async approximateSize (): Promise<number> { return 0 }

  async close (): Promise<void> {
    if (this.status === 'closed' || this.status === 'closing') return
    this.status = 'closing'
    try {
      await this.#commit.flushed()
      await this.db.close()
      await this._afterClose()
    } finally {
      this.status = 'closed'
    }
  }

  protected async _afterClose (): Promise<void> {}
}

export function wrapStoreError (err: unknown, code: 'MECHA_ERR_STORE_WRITE' | 'MECHA_ERR_STORE_OPEN'): Error {
  if (err instanceof MechaError) return err
  const levelCode = (err as { code?: string })?.code
  if (levelCode === 'LEVEL_DATABASE_NOT_OPEN') return new MechaError('MECHA_ERR_STORE_CLOSED', 'store is not open', { cause: err })
  return new MechaError(code, (err as Error)?.message, { cause: err })
}

function toLevelRange (opts: RangeOptions = {}): Record<string, unknown> {
  const { prefix, ...rest } = opts
  const range: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) range[k] = v
  if (prefix !== undefined) {
    if (range.gt === undefined && range.gte === undefined) range.gte = prefix
    if (range.lt === undefined && range.lte === undefined) range.lt = prefix + MAX_CHAR
  }
  return range
}

class LevelNamespace<V> implements Namespace<V> {
  readonly path: string
  readonly #store: AbstractStore
  /** @internal the abstract-level sublevel; batch ops of other namespaces point at it */
  readonly _sub: any
  readonly #children = new Map<string, LevelNamespace<any>>()

  constructor (store: AbstractStore, sub: any, path: string) {
    this.#store = store
    this._sub = sub
    this.path = path
  }

  async get (key: string): Promise<V | undefined> {
    checkKey(key)
    this.#store._assertOpen()
    return await this._sub.get(key) as V | undefined
  }

  async getMany (keys: readonly string[]): Promise<Array<V | undefined>> {
    for (const k of keys) checkKey(k)
    this.#store._assertOpen()
    if (keys.length === 0) return []
    return await this._sub.getMany([...keys]) as Array<V | undefined>
  }

  put (key: string, value: V): Promise<void> {
    return this.batch([{ type: 'put', key, value }])
  }

  del (key: string): Promise<void> {
    return this.batch([{ type: 'del', key }])
  }

  async batch (ops: ReadonlyArray<BatchOp<V>>): Promise<void> {
    if (ops.length === 0) return
    const out = ops.map((op) => {
      checkKey(op.key)
      const target = op.ns === undefined ? this : op.ns
      if (!(target instanceof LevelNamespace)) throw new TypeError('batch op ns must be a namespace of the same store')
      if (op.type === 'put') {
        // LevelDB cannot store null or undefined (abstract-level rejects them); callers wrap such values.
        if (op.value === undefined || op.value === null) throw new TypeError(`put of ${op.key}: value is ${String(op.value)}`)
        return { type: 'put', key: op.key, value: op.value, sublevel: target._sub }
      }
      if (op.type === 'del') return { type: 'del', key: op.key, sublevel: target._sub }
      throw new TypeError(`unknown batch op type: ${(op as { type: string }).type}`)
    })
    await this.#store._write(out)
  }

  async * entries (opts?: RangeOptions): AsyncIterable<[string, V]> {
    this.#store._assertOpen()
    for await (const entry of this._sub.iterator(toLevelRange(opts))) yield entry as [string, V]
  }

  async entryList (opts?: RangeOptions): Promise<Array<[string, V]>> {
    this.#store._assertOpen()
    // all() reads in nextv steps and closes the iterator itself.
    return await this._sub.iterator(toLevelRange(opts)).all() as Array<[string, V]>
  }

  async * keys (opts?: RangeOptions): AsyncIterable<string> {
    this.#store._assertOpen()
    for await (const key of this._sub.keys(toLevelRange(opts))) yield key as string
  }

  async clear (opts?: RangeOptions): Promise<void> {
    this.#store._assertOpen()
    await this._sub.clear(toLevelRange(opts))
  }

  namespace<W = unknown> (name: string): Namespace<W> {
    if (!NAME.test(name)) throw new TypeError(`invalid namespace name: ${name}`)
    let ns = this.#children.get(name)
    if (ns === undefined) {
      // Children are sibling sublevels named `parent.child`, not nested ones: a nested sublevel's keys would
      // sort inside the parent's range and show up when the parent is listed.
      ns = this.#store.namespace<W>(`${this.path}.${name}`) as LevelNamespace<W>
      this.#children.set(name, ns)
    }
    return ns as Namespace<W>
  }
}

function checkKey (key: unknown): void {
  if (typeof key !== 'string') throw new TypeError(`key must be a string, got ${typeof key}`)
}
