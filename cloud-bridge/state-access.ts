/**
 * The state layer as the cloud bridge's shadow sync sees it (the interface lives in core, so edge implements
 * it without importing the bridge); `NamespaceStateAccess` is a small implementation over one Namespace, for tests and
 * for runtimes without a state layer.
 */
import type { Namespace } from '../core/store/index.ts'

export type { DesiredDocument, StateAccess } from '../core/state/shadow.ts'
import type { DesiredDocument, StateAccess } from '../core/state/shadow.ts'

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
