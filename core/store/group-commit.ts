/**
 * Group commit for `durability: power`: every write must be fsynced before it is acknowledged, but an fsync
 * per write would cap a flash-backed gateway at a few hundred writes a second. Writers that arrive while one
 * sync is in flight wait and share the next one, so N concurrent writers cost about two syncs, not N.
 */
export type WriteFn<Op> = (ops: Op[]) => Promise<void>

interface Pending<Op> { ops: readonly Op[]; resolve: () => void; reject: (err: unknown) => void }

export class GroupCommit<Op> {
  #write: WriteFn<Op>
  #pending: Array<Pending<Op>> = []
  #running: Promise<void> | undefined
  /** How many synced writes were issued, for tests and metrics. */
  syncs = 0
  writes = 0

  constructor (write: WriteFn<Op>) {
    this.#write = write
  }

  write (ops: readonly Op[]): Promise<void> {
    this.writes++
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ ops, resolve, reject })
      this.#running ??= this.#drain().finally(() => { this.#running = undefined })
    })
  }

  /** Resolves when every write issued so far is synced (or failed). */
  async flushed (): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  async #drain (): Promise<void> {
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0)
      try {
        this.syncs++
        await this.#write(group.flatMap((p) => p.ops))
        for (const p of group) p.resolve()
      } catch (err) {
        if (group.length === 1) { group[0].reject(err); continue }
        // One bad write must not fail its neighbours: retry each alone so only the culprit rejects.
        for (const p of group) {
          try { this.syncs++; await this.#write([...p.ops]); p.resolve() } catch (e) { p.reject(e) }
        }
      }
    }
  }
}
