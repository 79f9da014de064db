/**
 * One socket write per event-loop turn instead of one per packet.
 *
 * mqtt-packet corks the stream for every packet it writes and uncorks it on the next tick. aedes hands each
 * delivery and each PUBACK to its own `setImmediate`, and Node runs the tick queue between immediates, so
 * every packet became its own `writev` — a loopback TCP send that wakes the peer, ~20 % of the broker's CPU
 * under load (docs/performance.md, "Broker"). Here the uncorks of one turn are held and released together in
 * the next immediate phase: the packets written meanwhile leave in one `writev`.
 *
 * Nothing is reordered (the stream keeps its buffer in write order) and nothing waits longer than the rest of
 * the current loop turn. Back-pressure is unchanged: `write()` still returns false past the high-water mark
 * and 'drain' follows the flush; the held bytes are released early at half of it, so coalescing alone does
 * not make writes return false.
 */
import type { Duplex } from 'node:stream'

interface Corkable { cork: () => void; uncork: () => void; destroy: (...args: unknown[]) => unknown; writableLength: number; writableHighWaterMark: number }

const pending = new Set<Corkable>()
let scheduled = false

function flush (): void {
  scheduled = false
  const streams = [...pending]
  pending.clear()
  for (const s of streams) release(s)
}

const held = new WeakMap<Corkable, { count: number; uncork: () => void }>()

function release (s: Corkable): void {
  const h = held.get(s)
  if (h === undefined) return
  const n = h.count
  h.count = 0
  // The stream's own uncork, as many times as it was corked by the writers we held back.
  for (let i = 0; i < n; i++) h.uncork()
}

/** Makes `stream.uncork()` take effect at the end of the current loop turn (for all streams at once). */
export function coalesceWrites (stream: Duplex): void {
  const s = stream as unknown as Corkable
  if (typeof s.cork !== 'function' || typeof s.uncork !== 'function' || held.has(s)) return
  const h = { count: 0, uncork: s.uncork.bind(s) }
  held.set(s, h)
  s.uncork = () => {
    h.count++
    // Past half the high-water mark the held bytes go now: a write that returns false makes aedes wait for
    // 'drain' before it calls the delivery back, which stalls its emit queue (concurrency 100) for a loop turn.
    if (s.writableLength >= s.writableHighWaterMark / 2) { release(s); return }
    pending.add(s)
    if (!scheduled) { scheduled = true; setImmediate(flush) }
  }
  // What was written before a close still goes out first: aedes writes a refusing CONNACK (or the last
  // PUBACK) and destroys the connection in a later immediate, which may run before our flush.
  const destroy = s.destroy.bind(s)
  s.destroy = (...args: unknown[]) => {
    release(s)
    pending.delete(s)
    return destroy(...args)
  }
}
