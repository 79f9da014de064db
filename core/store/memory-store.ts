import { MemoryLevel } from 'memory-level'
import { AbstractStore } from './abstract-store.ts'
import type { Durability } from './store.ts'

/** An in-memory store: the same behaviour as the LevelDB one, nothing on disk. For tests and `--in-memory`. */
export class MemoryStore extends AbstractStore {
  private constructor (durability: Durability) {
    super(new MemoryLevel(), durability)
  }

  static async create (opts: { durability?: Durability } = {}): Promise<MemoryStore> {
    const store = new MemoryStore(opts.durability ?? 'process')
    await store.db.open()
    store.status = 'open'
    return store
  }
}
