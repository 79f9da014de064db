/**
 * An async iterator over values pushed to it (status changes, log lines, SSE events): a bounded buffer where a
 * slow reader loses the oldest values, ended by `end()` (what is buffered is still read) or by the reader's
 * `return()` (what is buffered is dropped). `onEnd` runs once, for the owner to unsubscribe.
 */
export class PushIterator<T> implements AsyncIterableIterator<T> {
  readonly #buffer: T[]
  readonly #max: number
  readonly #onEnd: (() => void) | undefined
  #wake: (() => void) | undefined
  #done = false

  constructor (opts: { first?: readonly T[]; max?: number; onEnd?: () => void } = {}) {
    this.#buffer = [...(opts.first ?? [])]
    this.#max = opts.max ?? 256
    this.#onEnd = opts.onEnd
  }

  push (value: T): void {
    if (this.#done) return
    this.#buffer.push(value)
    if (this.#buffer.length > this.#max) this.#buffer.shift()
    this.#wake?.()
  }

  end (): void {
    if (this.#done) return
    this.#done = true
    this.#onEnd?.()
    this.#wake?.()
  }

  async next (): Promise<IteratorResult<T>> {
    while (this.#buffer.length === 0 && !this.#done) await new Promise<void>((resolve) => { this.#wake = resolve })
    this.#wake = undefined
    if (this.#buffer.length === 0) return { done: true, value: undefined }
    return { done: false, value: this.#buffer.shift()! }
  }

  async return (): Promise<IteratorResult<T>> {
    this.end()
    this.#buffer.length = 0
    return { done: true, value: undefined }
  }

  [Symbol.asyncIterator] (): AsyncIterableIterator<T> { return this }
}
