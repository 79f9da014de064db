/**
 * Group commit for the state store's LevelDB calls. Every LevelDB call is a hop to libuv's thread pool and
 * back; with one read (for the ETag check) and one batch per save, those hops, not LevelDB, bounded concurrent
 * saves through the API (issue 16). Here the first call goes at once; calls that arrive while a group is in
 * flight wait for it and then go together as the next group: writes as one read and ONE atomic batch, reads as
 * one multi-get. Nothing waits for a timer, so a lone call is as fast as before; a write is answered only
 * after the batch that holds it is written, and a read issued after a write was answered is sent after it.
 */
export interface PendingCall<Op, R> {
  readonly ops: Op
  resolve: (r: R) => void
  reject: (err: unknown) => void
}

export class CallGroups<Op, R> {
  readonly #commit: (group: Array<PendingCall<Op, R>>) => Promise<void>
  readonly #maxGroup: number
  #queue: Array<PendingCall<Op, R>> = []
  #busy = false

  /**
   * `commit` settles every call of the group (a rejected one does not stop the others); if it throws, the
   * calls it left unsettled fail with that error. `maxGroup` bounds one batch.
   */
  constructor (commit: (group: Array<PendingCall<Op, R>>) => Promise<void>, maxGroup = 256) {
    this.#commit = commit
    this.#maxGroup = maxGroup
  }

  submit (ops: Op): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ ops, resolve, reject })
      if (!this.#busy) void this.#drain()
    })
  }

  async #drain (): Promise<void> {
    this.#busy = true
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.length <= this.#maxGroup ? this.#queue : this.#queue.slice(0, this.#maxGroup)
        this.#queue = this.#queue.length <= this.#maxGroup ? [] : this.#queue.slice(this.#maxGroup)
        // A settled promise ignores a second settle, so rejecting all of them only reaches the unsettled ones.
        try { await this.#commit(group) } catch (err) { for (const c of group) c.reject(err) }
      }
    } finally {
      this.#busy = false
    }
  }
}
