/**
 * Ordered topics [MQTT-4.6.0-6]: messages of one publisher reach every subscriber in the order they were
 * published. aedes handles the packets of one socket read concurrently, and with a persistence doing real I/O
 * each publish's stores (retained, offline queues) and our interceptors (the cloud outbox) finish in any
 * order; aedes hands a packet to delivery (`mq.emit`) as soon as its own stores finished, so a later packet
 * could overtake an earlier one. Two gates restore the order without serialising the I/O:
 *
 * - `Turns`: per source, the step after the interceptors (handing the packet to aedes' publish, which numbers
 *   it and starts its stores) happens in arrival order.
 * - `EmitGate`: per source, packets are handed to delivery in the order aedes numbered them; a packet whose
 *   stores are done waits only for the earlier packets of the same source (or for their failure).
 *
 * Order is per source (a client connection, or the runtime itself): MQTT promises nothing across publishers.
 */

/** Per-source turns: `take(source)` returns a wait for the earlier turns and a release for this one. */
export class Turns<S extends object> {
  readonly #sources = new WeakMap<S, { tail: Promise<void>; pending: number }>()

  /**
   * True while a turn of `source` is taken and not released. When it is false and the caller has nothing to
   * wait for, the step may run at once without taking a turn (no promise per publish on the hot path).
   */
  busy (source: S): boolean {
    const state = this.#sources.get(source)
    return state !== undefined && state.pending > 0
  }

  /** `before` is undefined when no earlier turn of this source is pending (the common case: no wait at all). */
  take (source: S): { before: Promise<void> | undefined; release: () => void } {
    let state = this.#sources.get(source)
    const before = state !== undefined && state.pending > 0 ? state.tail : undefined
    let resolve!: () => void
    const tail = new Promise<void>((r) => { resolve = r })
    if (state === undefined) { state = { tail, pending: 0 }; this.#sources.set(source, state) }
    state.tail = tail
    state.pending++
    const s = state
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      s.pending--
      resolve()
    }
    return { before, release }
  }
}

/** One numbered publish; `emit` holds its delivery, with the packet and callback it is called with. */
interface Slot { counter: number; queue: Slot[]; emit: ((packet: unknown, cb: unknown) => void) | undefined; packet: unknown; cb: unknown; settled: boolean }

/** Hands packets to delivery in the order they were numbered, per source. */
export class EmitGate {
  /** Packets numbered by a gated publish and not yet handed over, by broker counter. */
  readonly #slots = new Map<number, Slot>()
  readonly #queues = new WeakMap<object, Slot[]>()

  /** A publish of `source` was numbered `counter`: its delivery waits for the earlier ones of that source. */
  numbered (source: object, counter: number): void {
    let queue = this.#queues.get(source)
    if (queue === undefined) { queue = []; this.#queues.set(source, queue) }
    const slot: Slot = { counter, queue, emit: undefined, packet: undefined, cb: undefined, settled: false }
    queue.push(slot)
    this.#slots.set(counter, slot)
  }

  /**
   * The packet numbered `counter` is ready for delivery; `emit(packet, cb)` runs now or once the earlier ones
   * went. The function and its arguments are kept apart so no closure is made per packet.
   */
  emit<P, C> (counter: number | undefined, emit: (packet: P, cb: C) => void, packet: P, cb: C): void {
    const slot = counter === undefined ? undefined : this.#slots.get(counter)
    if (slot === undefined) { emit(packet, cb); return } // not a gated publish (a will, $SYS, a replayed packet)
    slot.emit = emit as Slot['emit']
    slot.packet = packet
    slot.cb = cb
    this.#drain(slot.queue)
  }

  /** The publish numbered `counter` ended (delivered, or failed before delivery): it holds nobody up. */
  settled (counter: number): void {
    const slot = this.#slots.get(counter)
    if (slot === undefined) return
    slot.settled = true
    this.#drain(slot.queue)
  }

  /** Publishes numbered and not yet handed over (for tests and metrics). */
  get waiting (): number { return this.#slots.size }

  #drain (queue: Slot[]): void {
    while (queue.length > 0) {
      const head = queue[0]
      if (head.emit === undefined && !head.settled) return
      queue.shift()
      this.#slots.delete(head.counter)
      head.emit?.(head.packet, head.cb)
    }
  }
}
