/**
 * The seam between the cloud bridge and the state layer for shadow sync. The state layer implements it (the
 * lead's `state.level` store); `NamespaceStateAccess` is a small implementation over one Namespace, for tests and
 * for runtimes without a state layer.
 */
import type { Namespace } from '../core/store/index.ts'

export interface DesiredDocument { version: number; state: Record<string, unknown> }

export interface StateAccess {
  /** Calls `fn` after each committed change of a key starting with `prefix`; `value` is undefined for a delete. */
  watch(prefix: string, fn: (key: string, value: unknown) => void): () => void
  get(key: string): Promise<unknown>
  /**
   * Applies a desired document atomically when its version is newer than the last one applied, and records
   * that version in the same write; returns false (changing nothing) for an older or equal version.
   * A `null` value deletes the key.
   */
  applyDesired(doc: DesiredDocument): Promise<boolean>
}

const VERSION_KEY = 'desired-version'

export class NamespaceStateAccess implements StateAccess {
  readonly #ns: Namespace<any>
  readonly #meta: Namespace<any>
  readonly #watchers = new Set<{ prefix: string; fn: (key: string, value: unknown) => void }>()
  /** Desired documents are applied one at a time so the version check and the write cannot interleave. */
  #tail: Promise<unknown> = Promise.resolve()

  constructor (ns: Namespace<any>) {
    this.#ns = ns
    this.#meta = ns.namespace('meta')
  }

  watch (prefix: string, fn: (key: string, value: unknown) => void): () => void {
    const w = { prefix, fn }
    this.#watchers.add(w)
    return () => { this.#watchers.delete(w) }
  }

  async get (key: string): Promise<unknown> { return await this.#ns.get(key) }

  async set (key: string, value: unknown): Promise<void> {
    if (value === undefined || value === null) await this.#ns.del(key)
    else await this.#ns.put(key, value)
    this.#notify(key, value ?? undefined)
  }

  async delete (key: string): Promise<void> { await this.set(key, undefined) }

  applyDesired (doc: DesiredDocument): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      const current = (await this.#meta.get(VERSION_KEY) as number | undefined) ?? -Infinity
      if (!(doc.version > current)) return false
      const entries = Object.entries(doc.state)
      await this.#ns.batch([
        ...entries.map(([key, value]) => value === null || value === undefined ? { type: 'del' as const, key } : { type: 'put' as const, key, value }),
        { type: 'put', key: VERSION_KEY, value: doc.version, ns: this.#meta },
      ])
      for (const [key, value] of entries) this.#notify(key, value ?? undefined)
      return true
    }
    const p = this.#tail.then(run, run)
    this.#tail = p.catch(() => {})
    return p
  }

  async desiredVersion (): Promise<number | undefined> { return await this.#meta.get(VERSION_KEY) as number | undefined }

  #notify (key: string, value: unknown): void {
    for (const w of this.#watchers) if (key.startsWith(w.prefix)) w.fn(key, value)
  }
}
