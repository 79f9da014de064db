/**
 * One socket write per group of packets (at most GROUP, at most one loop turn's worth) instead of one per packet.
 *
 * mqtt-packet corks the stream for every packet it writes and uncorks it on the next tick. aedes hands each
 * delivery and each PUBACK to its own `setImmediate`, and Node runs the tick queue between immediates, so
 * every packet became its own `writev`: a loopback TCP send that wakes the peer, ~20 % of the broker's CPU
 * under load (docs/performance.md, "Broker"). Here the uncorks are held and released together, so the packets
 * written meanwhile leave in one `writev`.
 *
 * When they are released matters as much as how many go together: QoS 1 1→1 (one publisher, 100 in flight) is
 * bound by round trips, and with a whole immediate phase held until the next one it got slower (0.84×;
 * docs/performance.md). So at most GROUP packets are held per stream: released in groups, the first PUBACKs
 * reach the publisher while the broker still works through the batch, and the two processes overlap. 32 per
 * group, measured against 8 with warm brokers (13 interleaved rounds in two sets): rate 1.03–1.16× in every case
 * (QoS 0 and 1, 1→1, fan-in, fan-out), QoS 1 1→1 included; 64 was no better, and 256 made QoS 1 1→1 0.76×, the
 * PUBACKs held too long again. (Releasing at the end of the current phase as well needed Node's internal
 * immediate list and gained nothing measurable: not done.)
 *
 * Nothing is reordered (the stream keeps its buffer in write order) and nothing waits past the next immediate
 * phase. Back-pressure is unchanged: `write()` still returns false past the high-water mark and 'drain'
 * follows the flush; the held bytes are released early at half of it, so coalescing alone does not make
 * writes return false.
 */
import type { Duplex } from 'node:stream'

interface Corkable { cork: () => void; uncork: () => void; destroy: (...args: unknown[]) => unknown; writableLength: number; writableHighWaterMark: number }

/** Packets held per stream before they go at once (see above). */
const GROUP = 32

const held = new WeakMap<Corkable, { count: number; uncork: () => void }>()
const pending = new Set<Corkable>()
/** Whether the flush is queued for the next immediate phase. */
let scheduled = false

function releaseAll (): void {
  if (pending.size === 0) return
  const streams = [...pending]
  pending.clear()
  for (const s of streams) release(s)
}

function release (s: Corkable): void {
  const h = held.get(s)
  if (h === undefined) return
  const n = h.count
  h.count = 0
  // The stream's own uncork, as many times as it was corked by the writers we held back.
  for (let i = 0; i < n; i++) h.uncork()
}

function flush (): void {
  scheduled = false
  releaseAll()
}

/** Makes `stream.uncork()` take effect in the next immediate phase, or at once after GROUP packets (for all streams at once). */
export function coalesceWrites (stream: Duplex): void {
  const s = stream as unknown as Corkable
  if (typeof s.cork !== 'function' || typeof s.uncork !== 'function' || held.has(s)) return
  const h = { count: 0, uncork: s.uncork.bind(s) }
  held.set(s, h)
  s.uncork = () => {
    h.count++
    // Past half the high-water mark the held bytes go now: a write that returns false makes aedes wait for
    // 'drain' before it calls the delivery back, which stalls its emit queue (concurrency 100) for a loop turn.
    if (h.count >= GROUP || s.writableLength >= s.writableHighWaterMark / 2) { release(s); return }
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
