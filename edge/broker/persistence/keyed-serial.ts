/**
 * Runs async tasks one after another per key, and in parallel across keys.
 *
 * LevelDB writes issued together run on libuv's thread pool and may land in any order, so two writes to one key
 * (a retained topic stored twice, a queued packet updated then cleared) must not overlap; writes to different
 * keys still do, which keeps group commit (power durability) effective.
 */
export class KeyedSerial {
  readonly #tails = new Map<string, Promise<void>>()

  run<T> (key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    // The previous task's failure belongs to its caller; this one runs either way.
    const result = previous.then(task)
    const tail = result.then(noop, noop)
    this.#tails.set(key, tail)
    void tail.then(() => { if (this.#tails.get(key) === tail) this.#tails.delete(key) })
    return result
  }

  /** Resolves once every task queued so far (and any queued meanwhile) has settled. */
  async idle (): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()])
  }
}

function noop (): void {}
