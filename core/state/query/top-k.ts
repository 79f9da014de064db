/** Keeps the k smallest items seen under a comparator, in O(k) memory: a binary max-heap of size k. */
export class TopK<T> {
  readonly #k: number
  readonly #cmp: (a: T, b: T) => number
  readonly #heap: T[] = []

  constructor (k: number, cmp: (a: T, b: T) => number) {
    this.#k = k
    this.#cmp = cmp
  }

  get size (): number { return this.#heap.length }

  push (item: T): void {
    const h = this.#heap
    if (this.#k <= 0) return
    if (h.length < this.#k) {
      h.push(item)
      this.#up(h.length - 1)
    } else if (this.#cmp(item, h[0]) < 0) {
      h[0] = item
      this.#down(0)
    }
  }

  /** The items, smallest first (empties the heap). */
  drain (): T[] {
    const out = this.#heap.splice(0)
    return out.sort(this.#cmp)
  }

  #up (i: number): void {
    const h = this.#heap
    while (i > 0) {
      const p = (i - 1) >> 1
      if (this.#cmp(h[i], h[p]) <= 0) break
      ;[h[i], h[p]] = [h[p], h[i]]
      i = p
    }
  }

  #down (i: number): void {
    const h = this.#heap
    for (;;) {
      const l = 2 * i + 1; const r = l + 1
      let m = i
      if (l < h.length && this.#cmp(h[l], h[m]) > 0) m = l
      if (r < h.length && this.#cmp(h[r], h[m]) > 0) m = r
      if (m === i) return
      ;[h[i], h[m]] = [h[m], h[i]]
      i = m
    }
  }
}
