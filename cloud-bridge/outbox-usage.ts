/** Message count and bytes per priority level (0-9), with totals. */
export class OutboxUsage {
  readonly #count = new Array<number>(10).fill(0)
  readonly #bytes = new Array<number>(10).fill(0)
  #total = 0
  #totalBytes = 0

  add (priority: number, count: number, bytes: number): void {
    if (priority < 0 || priority > 9) return
    this.#count[priority] += count
    this.#bytes[priority] += bytes
    this.#total += count
    this.#totalBytes += bytes
  }

  copyFrom (other: OutboxUsage): void {
    for (let p = 0; p < 10; p++) this.add(p, other.levelCount(p), other.levelBytes(p))
  }

  /** [count, bytes] per level, a fresh array (the form stored in the outbox meta record). */
  toLevels (): Array<[number, number]> {
    return this.#count.map((c, p) => [c, this.#bytes[p]])
  }

  levelCount (p: number): number { return this.#count[p] }
  levelBytes (p: number): number { return this.#bytes[p] }
  get count (): number { return this.#total }
  get bytes (): number { return this.#totalBytes }

  /** Levels holding messages, most important first. */
  nonEmpty (): number[] {
    const out: number[] = []
    for (let p = 0; p < 10; p++) if (this.#count[p] > 0) out.push(p)
    return out
  }
}
