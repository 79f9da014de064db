import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { AbstractStore, wrapStoreError } from './abstract-store.ts'
import type { Durability } from './store.ts'
import { MechaError } from '../errors.ts'

export interface LevelStoreOptions {
  /** The data dir; the database lives in `<dataDir>/db`. */
  dataDir: string
  /** @default 'process' */
  durability?: Durability
}

/**
 * The store on disk: one classic-level (LevelDB) database per data dir. LevelDB's own LOCK file (an flock,
 * released by the kernel even on kill -9) keeps a second runtime out; `mecha.pid` beside it only names the
 * holder in the error message.
 */
export class LevelStore extends AbstractStore {
  readonly dataDir: string
  readonly #pidFile: string

  private constructor (dataDir: string, durability: Durability) {
    super(new ClassicLevel(join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'buffer' }), durability)
    this.dataDir = dataDir
    this.#pidFile = join(dataDir, 'mecha.pid')
  }

  static async create (opts: LevelStoreOptions): Promise<LevelStore> {
    await mkdir(opts.dataDir, { recursive: true })
    const store = new LevelStore(opts.dataDir, opts.durability ?? 'process')
    try {
      await store.db.open()
    } catch (err) {
      store.status = 'closed'
      if (isLockError(err)) {
        const pid = await readFile(store.#pidFile, 'utf8').then((s) => s.trim(), () => 'unknown')
        throw new MechaError('MECHA_ERR_DATA_DIR_LOCKED', `data dir ${opts.dataDir} locked by pid ${pid}`, { cause: err })
      }
      throw wrapStoreError(err, 'MECHA_ERR_STORE_OPEN')
    }
    await writeFile(store.#pidFile, `${process.pid}\n`)
    store.status = 'open'
    return store
  }

  override async approximateSize (): Promise<number> {
    if (this.status !== 'open') return 0
    // The whole keyspace: sublevel prefixes start with '!' and nothing sorts above U+10FFFF.
    return await this.db.approximateSize('\u0000', '\u{10FFFF}')
  }

  protected override async _afterClose (): Promise<void> {
    await rm(this.#pidFile, { force: true })
  }
}

function isLockError (err: unknown): boolean {
  for (let e: any = err; e != null; e = e.cause) {
    if (e.code === 'LEVEL_LOCKED' || /lock/i.test(String(e.message))) return true
  }
  return false
}
