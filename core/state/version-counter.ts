/**
 * ETags are versions from one counter per store, so a key's ETag grows with every write and is never handed
 * out again — not even after the key was deleted and re-created (a stale ETag cannot match a new value: no
 * ABA). The counter survives restarts without a write per save: it reserves blocks (hi/lo allocation) by
 * persisting an upper bound before handing out any number below it, so after a crash it resumes above every
 * number it may have used.
 */
import type { Namespace } from '../store/index.ts'

const HIGH_KEY = 'version-high'

export class VersionCounter {
  readonly #meta: Namespace<number>
  readonly #block: number
  #next = 0
  #limit = 0
  #reserving: Promise<void> | undefined

  private constructor (meta: Namespace<number>, block: number) {
    this.#meta = meta
    this.#block = block
  }

  static async create (meta: Namespace<number>, block = 10_000): Promise<VersionCounter> {
    const counter = new VersionCounter(meta, block)
    const high = (await meta.get(HIGH_KEY)) ?? 0
    counter.#next = high + 1
    counter.#limit = high
    await counter.#reserve()
    return counter
  }

  /** The next version; only waits when a block is used up. */
  async next (): Promise<number> {
    while (this.#next > this.#limit) await this.#reserve()
    return this.#next++
  }

  #reserve (): Promise<void> {
    this.#reserving ??= (async () => {
      const limit = Math.max(this.#limit, this.#next - 1) + this.#block
      await this.#meta.put(HIGH_KEY, limit)
      this.#limit = limit
    })().finally(() => { this.#reserving = undefined })
    return this.#reserving
  }
}

const ETAG = /^[1-9][0-9]{0,15}$/

/** True for an ETag this store could have issued; anything else is malformed (400 in Dapr). */
export function isWellFormedEtag (etag: string): boolean {
  return ETAG.test(etag)
}
