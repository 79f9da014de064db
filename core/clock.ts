/** The time seam: backoff, TTL and keepalive code takes a Clock so tests never sleep (CONVENTIONS 8). */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => { clearTimeout(h as NodeJS.Timeout) },
}

/** A manual clock for tests: time moves only when `advance` is called. */
export class ManualClock implements Clock {
  #now: number
  #timers = new Map<number, { at: number; fn: () => void }>()
  #next = 1
  constructor (start = 0) { this.#now = start }
  now (): number { return this.#now }
  setTimeout (fn: () => void, ms: number): unknown {
    const id = this.#next++
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn })
    return id
  }
  clearTimeout (handle: unknown): void { this.#timers.delete(handle as number) }
  /** Moves time forward, firing due timers in time order. */
  advance (ms: number): void {
    const until = this.#now + ms
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined
      for (const e of this.#timers) if (e[1].at <= until && (due === undefined || e[1].at < due[1].at)) due = e
      if (due === undefined) break
      this.#timers.delete(due[0])
      this.#now = due[1].at
      due[1].fn()
    }
    this.#now = until
  }
}
