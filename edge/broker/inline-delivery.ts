/**
 * A delivery written in the turn its message is handed over, not one `setImmediate` later.
 *
 * aedes' `deliverQoS`/`deliver0` (closures inside its Client, so they cannot be replaced piecemeal) start with
 * `setImmediate(() => { build the packet, write it })` — "to clear stacks" — and call the delivery's callback
 * from another `setImmediate` after the write. The publish ends, and aedes writes the publisher's PUBACK and
 * reads its socket again, only after both. Without the first hop, QoS 1 1→1 ran at 1.11× the deliveries/s
 * (median of 28 interleaved rounds, 20 of them faster) at 0.94× the broker's CPU per delivery
 * (docs/performance.md, "Broker").
 *
 * `inline(deliver, packet, done)` runs the aedes delivery with the first `setImmediate` it makes run at once,
 * unless it is the delivery's own callback `done` (aedes' branches that deliver nothing call
 * `setImmediate(done)` straight away): callbacks stay asynchronous, so a message whose deliveries all complete
 * at once cannot make mqemitter start the next one inside this stack — the recursion aedes' hop guards
 * against. Only that first call is affected, and the global is restored before anything else runs, even if
 * the delivery throws: the write's own callback, and everything else, still get a real `setImmediate`.
 *
 * Order is kept: deliveries are written in the order they are handed over, as the hop did (immediates run in
 * order). A session's held messages (released after its queue's replay) go through here too, so a live message
 * cannot overtake them. Used for QoS 1/2 deliveries only: at QoS 0 nothing waits on the hop, and inline cost
 * 1.05× the CPU per delivery there.
 */
const realSetImmediate = globalThis.setImmediate
/** The callback of the delivery being started (its `setImmediate` stays real). */
let callbackOf: unknown

// One function for every delivery (no closure per packet): it puts the real `setImmediate` back first.
const once = ((fn: (...args: unknown[]) => void, ...args: unknown[]): unknown => {
  globalThis.setImmediate = realSetImmediate
  if (fn === callbackOf) return realSetImmediate(fn, ...args)
  fn(...args)
  return undefined
}) as typeof setImmediate

/** `deliver(packet, done)` — an aedes delivery function — with its first hop run at once (see above). */
export function inline<P, D> (deliver: (packet: P, done: D) => void, packet: P, done: D): void {
  callbackOf = done
  globalThis.setImmediate = once
  try {
    deliver(packet, done)
  } finally {
    // Restored even if the delivery made no `setImmediate` call or threw; a delivery started inside this one
    // (from its write) set and restored its own.
    globalThis.setImmediate = realSetImmediate
    callbackOf = undefined
  }
}
