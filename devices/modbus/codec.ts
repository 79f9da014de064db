/**
 * Registers ↔ values for one point. Modbus carries 16-bit registers high byte first (Modbus Application
 * Protocol V1.1b3 §4.2); how a device lays a wider value over several registers is its own choice, written as
 * the order of bytes A (most significant) … D: `ABCD` big-endian words and bytes, `CDAB` word swap, `BADC`
 * byte swap within each register, `DCBA` both. For 64-bit values the same two swaps apply across four
 * registers. Scaling is `value = raw × scale + offset`, inverted on writes (and rounded for integer types).
 */
import type { Point } from './profile.ts'

/** A value that cannot be written to a point (wrong kind, out of range, too long). */
export class EncodeError extends Error {}

const wordSwap = (p: Point): boolean => p.order === 'CDAB' || p.order === 'DCBA'
const byteSwap = (p: Point): boolean => p.order === 'BADC' || p.order === 'DCBA'

/** Floating error from `× 0.1` is not a reading: round to 12 significant digits (as bindings.serial does). */
const tidy = (n: number): number => Number(n.toPrecision(12))

function wordsToBuffer (p: Point, words: readonly number[]): Buffer {
  const ws = wordSwap(p) && p.type !== 'string' ? [...words].reverse() : words
  const buf = Buffer.alloc(ws.length * 2)
  ws.forEach((w, i) => { buf.writeUInt16BE(w & 0xffff, i * 2) })
  if (byteSwap(p)) buf.swap16()
  return buf
}

function bufferToWords (p: Point, buf: Buffer): number[] {
  if (byteSwap(p)) buf.swap16()
  const words: number[] = []
  for (let i = 0; i < buf.length; i += 2) words.push(buf.readUInt16BE(i))
  return wordSwap(p) && p.type !== 'string' ? words.reverse() : words
}

/** The raw number the registers hold, before scaling. */
function rawNumber (p: Point, b: Buffer): number {
  switch (p.type) {
    case 'int16': return b.readInt16BE(0)
    case 'uint16': return b.readUInt16BE(0)
    case 'int32': return b.readInt32BE(0)
    case 'uint32': return b.readUInt32BE(0)
    case 'float32': return b.readFloatBE(0)
    case 'float64': return b.readDoubleBE(0)
    default: throw new TypeError(`${p.type} is not numeric`)
  }
}

/** The value of a point from its registers (`words`, `count` of them) or bits. */
export function decodePoint (p: Point, data: readonly number[] | readonly boolean[]): boolean | boolean[] | number | string {
  if (p.function === 'coil' || p.function === 'discrete') {
    const bits = (data as readonly boolean[]).slice(0, p.count).map(Boolean)
    return p.count === 1 ? bits[0]! : bits
  }
  const words = data as readonly number[]
  if (p.type === 'bool') return words[0] !== 0
  const b = wordsToBuffer(p, words.slice(0, p.count))
  if (p.type === 'string') return b.toString('latin1').replace(/[\0\s]+$/, '')
  const raw = rawNumber(p, b)
  if (p.scale === 1 && p.offset === 0) return raw
  return tidy(raw * p.scale + p.offset)
}

const INT_RANGE: Record<string, [number, number]> = {
  int16: [-0x8000, 0x7fff], uint16: [0, 0xffff], int32: [-0x80000000, 0x7fffffff], uint32: [0, 0xffffffff],
}

/** Registers (holding) or bits (coils) that write `value` to point `p`. */
export function encodePoint (p: Point, value: unknown): number[] | boolean[] {
  if (p.function === 'coil' || p.function === 'discrete') {
    const one = (v: unknown): boolean => {
      if (typeof v === 'boolean') return v
      if (v === 0 || v === 1) return v === 1
      throw new EncodeError(`point ${p.name} takes true/false (or 1/0), got ${JSON.stringify(v)}`)
    }
    if (p.count === 1) return [one(value)]
    if (!Array.isArray(value) || value.length !== p.count) throw new EncodeError(`point ${p.name} takes an array of ${p.count} booleans`)
    return value.map(one)
  }
  if (p.type === 'bool') {
    if (typeof value !== 'boolean' && value !== 0 && value !== 1) throw new EncodeError(`point ${p.name} takes true/false, got ${JSON.stringify(value)}`)
    return [value === true || value === 1 ? 1 : 0]
  }
  const b = Buffer.alloc(p.count * 2)
  if (p.type === 'string') {
    if (typeof value !== 'string') throw new EncodeError(`point ${p.name} takes a string, got ${JSON.stringify(value)}`)
    const bytes = Buffer.from(value, 'latin1')
    if (bytes.length > b.length || Buffer.from(bytes.toString('latin1'), 'latin1').toString('latin1') !== value) throw new EncodeError(`point ${p.name} takes at most ${b.length} Latin-1 characters`)
    bytes.copy(b)
    return bufferToWords(p, b)
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new EncodeError(`point ${p.name} takes a number, got ${JSON.stringify(value)}`)
  let raw = (value - p.offset) / p.scale
  const range = INT_RANGE[p.type]
  if (range !== undefined) {
    raw = Math.round(tidy(raw))
    if (raw < range[0] || raw > range[1]) throw new EncodeError(`point ${p.name}: ${value} is ${raw} in the register, outside ${p.type} (${range[0]}…${range[1]})`)
  }
  switch (p.type) {
    case 'int16': b.writeInt16BE(raw, 0); break
    case 'uint16': b.writeUInt16BE(raw, 0); break
    case 'int32': b.writeInt32BE(raw, 0); break
    case 'uint32': b.writeUInt32BE(raw, 0); break
    case 'float32':
      if (Math.abs(raw) > 3.4028234663852886e38) throw new EncodeError(`point ${p.name}: ${value} does not fit a float32`)
      b.writeFloatBE(raw, 0); break
    case 'float64': b.writeDoubleBE(raw, 0); break
  }
  return bufferToWords(p, b)
}
