/**
 * Restart delays: exponential with full jitter between `minMs` and `maxMs` (CONVENTIONS 6), so a crashing app
 * neither spins the CPU nor waits forever, and several apps that crashed together do not restart in lockstep.
 */
export type DelayFn = (attempt: number) => number

export function exponentialJitter (minMs: number, maxMs: number, random: () => number = Math.random): DelayFn {
  return (attempt) => {
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1))
    return Math.round(minMs + random() * Math.max(0, ceiling - minMs))
  }
}
