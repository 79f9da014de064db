import { PushIterator } from './push-iterator.ts'

type Listener<T> = (s: T) => void

const ITERATOR_BUFFER = 256

/**
 * A typed status stream (CONVENTIONS 7): the latest value, listeners, and async iterators that get the current
 * value first and then every change. The cloud link, bindings, apps and the admin API share it.
 */
export class StatusStream<T> {
  #current: T
  readonly #listeners = new Set<Listener<T>>()
  readonly #ends = new Set<() => void>()
  #closed = false

  constructor (initial: T) { this.#current = initial }

  get current (): T { return this.#current }

  emit (s: T): void {
    if (this.#closed) return
    this.#current = s
    for (const l of [...this.#listeners]) {
      try { l(s) } catch { /* a listener's bug must not stop the link */ }
    }
  }

  /** Calls `fn` on each status; returns the function that stops it. */
  on (fn: Listener<T>): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Each iterator gets the current status first, then every change; a slow reader loses the oldest ones. */
  [Symbol.asyncIterator] (): AsyncIterableIterator<T> {
    const end = (): void => { it.end() }
    const it = new PushIterator<T>({ first: [this.#current], max: ITERATOR_BUFFER, onEnd: () => { off(); this.#ends.delete(end) } })
    const off = this.on((s) => { it.push(s) })
    this.#ends.add(end)
    if (this.#closed) it.end()
    return it
  }

  close (): void {
    this.#closed = true
    for (const end of [...this.#ends]) end()
    this.#listeners.clear()
  }
}
