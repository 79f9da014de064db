/**
 * Serialises work per key, in call order, while work on different keys overlaps (and shares group-commit
 * fsyncs). The state store makes an ETag check and its write one atomic step with it; the broker persistence
 * keeps two LevelDB writes to one key from landing out of order (libuv may reorder concurrent writes). Multi-key holders (transactions, sweeps) take their keys in sorted order, so two of
 * them can never wait on each other (no deadlock).
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>()

  /** How many keys are held or awaited (for tests: it returns to 0 when idle, so the map never grows). */
  get size (): number { return this.#tails.size }

  /** Resolves once everything queued so far (and anything queued meanwhile) has finished. */
  async idle (): Promise<void> {
    while (this.#tails.size > 0) await Promise.allSettled([...this.#tails.values()])
  }

  async run<T> (keys: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort()
    const releases: Array<() => void> = []
    try {
      for (const key of sorted) releases.push(await this.#acquire(key))
      return await fn()
    } finally {
      for (const release of releases) release()
    }
  }

  async #acquire (key: string): Promise<() => void> {
    const prev = this.#tails.get(key)
    let release!: () => void
    const mine = new Promise<void>((resolve) => { release = resolve })
    const tail = prev === undefined ? mine : prev.then(() => mine)
    this.#tails.set(key, tail)
    if (prev !== undefined) await prev
    return () => {
      release()
      // Only the last holder in the chain removes the entry; a newer waiter has replaced the tail otherwise.
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }
}
