/**
 * A small seeded PRNG (mulberry32): every random choice of a round comes from it, so `seed=<n>` replays the
 * same workload shape and kill moment (the exact interleaving still depends on the machine's timing).
 */
export interface Rng {
  /** A float in [0, 1). */
  next: () => number
  /** An integer in [lo, hi], both included. */
  int: (lo: number, hi: number) => number
  pick: <T>(items: readonly T[]) => T
  chance: (p: number) => boolean
  /** An independent stream for one worker, so adding a worker does not shift the others' choices. */
  fork: (salt: number) => Rng
}

export function mulberry32 (seed: number): Rng {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
    fork: (salt) => mulberry32((Math.imul(seed >>> 0, 0x9E3779B1) ^ Math.imul(salt + 1, 0x85EBCA77)) >>> 0),
  }
  return rng
}
