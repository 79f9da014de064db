/**
 * Range reads see a snapshot taken when they start (LevelDB and memory-level alike). A key whose delete lands
 * while such a read runs is still yielded by it; if the outbox had already stopped skipping that key, the
 * entry would be sent and completed a second time, and the ledger would count it twice. The fence keeps a
 * deleted key in the skip set until every read that started before its delete landed has finished.
 */
export class DeleteFence {
  readonly #skip: Set<string>
  /** Write batches landed so far; a read's stamp says which of them its snapshot may predate. */
  #landings = 0
  readonly #reads = new Map<object, number>()
  #lingering: Array<{ key: string; at: number }> = []

  /** `skip` is the set of keys readers ignore (the outbox's keys on their way out). */
  constructor (skip: Set<string>) { this.#skip = skip }

  /** A write batch landed. */
  landed (): void { this.#landings++ }

  /** Registers a range read; call the returned function when it is done. */
  beginRead (): () => void {
    const token = {}
    this.#reads.set(token, this.#landings)
    return () => { this.#reads.delete(token); this.#release() }
  }

  /** The deletes of these keys landed (call after `landed`): they leave the skip set once no older read runs. */
  deleted (keys: Iterable<string>): void {
    const at = this.#landings
    const safe = this.#oldestRead() >= at
    for (const key of keys) {
      if (safe) this.#skip.delete(key)
      else this.#lingering.push({ key, at })
    }
  }

  #oldestRead (): number {
    let oldest = Infinity
    for (const stamp of this.#reads.values()) if (stamp < oldest) oldest = stamp
    return oldest
  }

  #release (): void {
    if (this.#lingering.length === 0) return
    const oldest = this.#oldestRead()
    this.#lingering = this.#lingering.filter((l) => {
      if (l.at > oldest) return true
      this.#skip.delete(l.key)
      return false
    })
  }
}
