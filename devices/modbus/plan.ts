/**
 * The read plan: points grouped by poll interval, and within a group, the points of one unit and table merged
 * into as few requests as the register map allows — neighbours whose gap is at most `maxGap` registers
 * (`maxGapBits` for coils and discrete inputs), up to `maxRegistersPerRequest` (`maxBitsPerRequest`) per
 * request. Pure: the binding runs it once at create.
 */
import type { ModbusFunction, Point, Profile } from './profile.ts'

export interface Block {
  readonly unitId: number
  readonly function: ModbusFunction
  readonly address: number
  readonly count: number
  readonly points: readonly Point[]
}

export const isBits = (fn: ModbusFunction): boolean => fn === 'coil' || fn === 'discrete'

export function planBlocks (points: readonly Point[], profile: Profile): Block[] {
  const sorted = [...points].sort((a, b) => a.unitId - b.unitId || a.function.localeCompare(b.function) || a.address - b.address)
  const blocks: Block[] = []
  let cur: { unitId: number; function: ModbusFunction; address: number; count: number; points: Point[] } | undefined
  for (const p of sorted) {
    const bits = isBits(p.function)
    const max = bits ? profile.maxBitsPerRequest : profile.maxRegistersPerRequest
    const maxGap = bits ? profile.maxGapBits : profile.maxGap
    if (cur !== undefined && cur.unitId === p.unitId && cur.function === p.function) {
      const gap = p.address - (cur.address + cur.count)
      const count = Math.max(cur.count, p.address + p.count - cur.address)
      if (gap <= maxGap && count <= max) {
        cur.count = count
        cur.points.push(p)
        continue
      }
    }
    cur = { unitId: p.unitId, function: p.function, address: p.address, count: p.count, points: [p] }
    blocks.push(cur)
  }
  return blocks
}

/** Blocks by poll interval (ms), shortest interval first. */
export function planGroups (profile: Profile): Array<{ intervalMs: number; blocks: Block[] }> {
  const by = new Map<number, Point[]>()
  for (const p of profile.points) by.set(p.intervalMs, [...(by.get(p.intervalMs) ?? []), p])
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([intervalMs, ps]) => ({ intervalMs, blocks: planBlocks(ps, profile) }))
}

/** One block per point: what a merged block falls back to when the device refuses it with an exception. */
export function splitBlock (b: Block): Block[] {
  return b.points.map((p) => ({ unitId: p.unitId, function: p.function, address: p.address, count: p.count, points: [p] }))
}
