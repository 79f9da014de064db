/**
 * A Modbus device profile: the named points of one bus (their unit id, table, address, type, word/byte order,
 * scaling), parsed from the component's `profile` (YAML or JSON text) or `profileFile` metadata into a frozen
 * value, with every problem listed at its path (`spec.metadata.profile.points[3].count`). Pure and light: the
 * config check imports it, never modbus-serial. The format is documented in docs/devices.md.
 */
import { parse as parseYaml } from 'yaml'
import type { ConfigProblem } from '../../core/config/types.ts'
import { parseGoDuration } from '../../core/schedule/duration.ts'

export const FUNCTIONS = ['coil', 'discrete', 'input', 'holding'] as const
export const TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string'] as const
/** Byte-order letters: `AB` the first byte of a word is the high one (Modbus' big-endian), `BA` swapped;
 *  `ABCD` the first word is the most significant, `CDAB` the least (word swap); for 64-bit values the same
 *  two choices apply to all four words. */
export const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const
export const REPORTS = ['change', 'always'] as const

export type ModbusFunction = typeof FUNCTIONS[number]
export type PointType = typeof TYPES[number]
export type WordOrder = typeof ORDERS[number]

/** Registers a type takes; strings take `count` (two characters per register). */
export const TYPE_WORDS: Readonly<Record<Exclude<PointType, 'string'>, number>> = { bool: 1, int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2, float64: 4 }

/** Modbus limits per request (Modbus Application Protocol V1.1b3 §6.1–6.4): 2000 bits, 125 registers. */
export const MAX_BITS = 2000
export const MAX_REGISTERS = 125

export interface Point {
  readonly name: string
  readonly unitId: number
  readonly function: ModbusFunction
  readonly address: number
  /** Registers (or bits, for coils and discrete inputs) the point occupies. */
  readonly count: number
  readonly type: PointType
  readonly order: WordOrder
  readonly scale: number
  readonly offset: number
  readonly unit?: string
  readonly deadband: number
  readonly report: typeof REPORTS[number]
  readonly intervalMs: number
}

export interface Profile {
  readonly points: readonly Point[]
  readonly maxRegistersPerRequest: number
  readonly maxBitsPerRequest: number
  /** Unused registers (bits for coils) a merged request may read between two points. */
  readonly maxGap: number
  readonly maxGapBits: number
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const PROFILE_KEYS = ['unitId', 'interval', 'order', 'report', 'deadband', 'maxRegistersPerRequest', 'maxBitsPerRequest', 'maxGap', 'maxGapBits', 'points']
const POINT_KEYS = ['name', 'unitId', 'function', 'address', 'count', 'type', 'order', 'scale', 'offset', 'unit', 'deadband', 'report', 'interval']

class Reader {
  constructor (readonly problems: ConfigProblem[]) {}
  problem (path: string, message: string): void { this.problems.push({ path, message }) }

  int (o: Obj, key: string, path: string, min: number, max: number, fallback: number): number {
    const v = o[key]
    if (v === undefined) return fallback
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) { this.problem(`${path}.${key}`, `must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`); return fallback }
    return n
  }

  num (o: Obj, key: string, path: string, fallback: number, opts: { min?: number; nonZero?: boolean } = {}): number {
    const v = o[key]
    if (v === undefined) return fallback
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v
    if (typeof n !== 'number' || !Number.isFinite(n)) { this.problem(`${path}.${key}`, `must be a number (got ${JSON.stringify(v)})`); return fallback }
    if (opts.min !== undefined && n < opts.min) { this.problem(`${path}.${key}`, `must be ≥ ${opts.min} (got ${n})`); return fallback }
    if (opts.nonZero === true && n === 0) { this.problem(`${path}.${key}`, 'must not be 0'); return fallback }
    return n
  }

  oneOf<T extends string> (o: Obj, key: string, path: string, values: readonly T[], fallback: T): T {
    const v = o[key]
    if (v === undefined) return fallback
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T
    this.problem(`${path}.${key}`, `must be one of ${values.join(', ')} (got ${JSON.stringify(v)})`)
    return fallback
  }

  /** `500ms`, `1s`, `1m30s` (Go durations, as the cron binding takes them) or a number of milliseconds. */
  interval (o: Obj, key: string, path: string, fallback: number): number {
    const v = o[key]
    if (v === undefined) return fallback
    let ms: number | undefined
    if (typeof v === 'number') ms = v
    else if (typeof v === 'string') {
      const r = /^\d+$/.test(v) ? { ms: Number(v) } : parseGoDuration(v)
      if ('problem' in r) { this.problem(`${path}.${key}`, r.problem); return fallback }
      ms = r.ms
    }
    if (ms === undefined || !Number.isFinite(ms) || ms < 10 || ms > 86_400_000) { this.problem(`${path}.${key}`, `must be a duration from 10ms to 24h (got ${JSON.stringify(v)})`); return fallback }
    return Math.round(ms)
  }

  unknownKeys (o: Obj, known: readonly string[], path: string): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.problem(`${path}.${k}`, 'is not a known key')
  }
}

/** Parses the text of a profile (YAML, of which JSON is a subset). `path` is where it came from (`spec.metadata.profile`). */
export function parseProfileText (text: string, path: string): { profile: Profile; problems: ConfigProblem[] } {
  let doc: unknown
  try { doc = parseYaml(text) } catch (err) {
    return { profile: emptyProfile(), problems: [{ path, message: `is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}` }] }
  }
  return parseProfile(doc, path)
}

function emptyProfile (): Profile {
  return Object.freeze({ points: Object.freeze([]), maxRegistersPerRequest: MAX_REGISTERS, maxBitsPerRequest: MAX_BITS, maxGap: 8, maxGapBits: 64 })
}

export function parseProfile (doc: unknown, path: string): { profile: Profile; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = []
  const r = new Reader(problems)
  if (!isObj(doc)) return { profile: emptyProfile(), problems: [{ path, message: 'must be an object with a points list' }] }
  r.unknownKeys(doc, PROFILE_KEYS, path)
  const defaults = {
    unitId: r.int(doc, 'unitId', path, 0, 255, 1),
    intervalMs: r.interval(doc, 'interval', path, 1000),
    order: r.oneOf(doc, 'order', path, ORDERS, 'ABCD'),
    report: r.oneOf(doc, 'report', path, REPORTS, 'change'),
    deadband: r.num(doc, 'deadband', path, 0, { min: 0 }),
  }
  const maxRegistersPerRequest = r.int(doc, 'maxRegistersPerRequest', path, 1, MAX_REGISTERS, MAX_REGISTERS)
  const maxBitsPerRequest = r.int(doc, 'maxBitsPerRequest', path, 1, MAX_BITS, MAX_BITS)
  const maxGap = r.int(doc, 'maxGap', path, 0, MAX_REGISTERS, 8)
  const maxGapBits = r.int(doc, 'maxGapBits', path, 0, MAX_BITS, 64)
  const points: Point[] = []
  const list = doc.points
  if (!Array.isArray(list) || list.length === 0) r.problem(`${path}.points`, 'must be a non-empty list of points')
  else {
    const names = new Map<string, number>()
    list.forEach((p, i) => {
      const point = parsePoint(r, p, `${path}.points[${i}]`, defaults, maxRegistersPerRequest, maxBitsPerRequest)
      if (point === undefined) return
      const seen = names.get(point.name)
      if (seen !== undefined) { r.problem(`${path}.points[${i}].name`, `duplicates the name of points[${seen}] (${JSON.stringify(point.name)})`); return }
      names.set(point.name, i)
      points.push(point)
    })
    overlaps(r, points, list as unknown[], path)
  }
  return { profile: Object.freeze({ points: Object.freeze(points), maxRegistersPerRequest, maxBitsPerRequest, maxGap, maxGapBits }), problems }
}

function parsePoint (r: Reader, p: unknown, path: string, d: { unitId: number; intervalMs: number; order: WordOrder; report: 'change' | 'always'; deadband: number }, maxRegs: number, maxBits: number): Point | undefined {
  if (!isObj(p)) { r.problem(path, 'must be an object'); return undefined }
  r.unknownKeys(p, POINT_KEYS, path)
  const before = r.problems.length
  const name = p.name
  if (typeof name !== 'string' || !/^[A-Za-z_][\w.-]{0,127}$/.test(name)) r.problem(`${path}.name`, `must be a name of letters, digits, _ . - (got ${JSON.stringify(name)})`)
  const unitId = r.int(p, 'unitId', path, 0, 255, d.unitId)
  let fn: ModbusFunction = 'holding'
  if (p.function === undefined) r.problem(`${path}.function`, `is required: one of ${FUNCTIONS.join(', ')}`)
  else fn = r.oneOf(p, 'function', path, FUNCTIONS, 'holding')
  const address = p.address === undefined ? (r.problem(`${path}.address`, 'is required'), 0) : r.int(p, 'address', path, 0, 65535, 0)
  const bits = fn === 'coil' || fn === 'discrete'
  const type = r.oneOf(p, 'type', path, TYPES, bits ? 'bool' : 'uint16')
  if (bits && type !== 'bool') r.problem(`${path}.type`, `must be bool for function ${fn} (got ${type})`)
  let count: number
  if (type === 'string') {
    count = p.count === undefined ? (r.problem(`${path}.count`, 'is required for type string (registers, two characters each)'), 1) : r.int(p, 'count', path, 1, maxRegs, 1)
  } else if (bits) {
    count = r.int(p, 'count', path, 1, maxBits, 1)
  } else {
    const words = TYPE_WORDS[type]
    count = words
    if (p.count !== undefined && Number(p.count) !== words) r.problem(`${path}.count`, `must be ${words} for type ${type} (got ${JSON.stringify(p.count)}), or left out`)
  }
  if (address + count > 65536) r.problem(`${path}.address`, `with count ${count} runs past address 65535`)
  const order = r.oneOf(p, 'order', path, ORDERS, d.order)
  if (type === 'string' && (order === 'CDAB' || order === 'DCBA') && p.order !== undefined) r.problem(`${path}.order`, 'must be ABCD or BADC for a string (only the byte order within a register applies)')
  const numeric = type !== 'bool' && type !== 'string'
  for (const k of ['scale', 'offset', 'deadband'] as const) if (!numeric && p[k] !== undefined) r.problem(`${path}.${k}`, `applies only to numeric types (this point is ${type})`)
  const scale = r.num(p, 'scale', path, 1, { nonZero: true })
  const offset = r.num(p, 'offset', path, 0)
  const deadband = numeric ? r.num(p, 'deadband', path, d.deadband, { min: 0 }) : 0
  const unit = p.unit
  if (unit !== undefined && typeof unit !== 'string') r.problem(`${path}.unit`, 'must be a string (an engineering unit such as °C)')
  const report = r.oneOf(p, 'report', path, REPORTS, d.report)
  const intervalMs = r.interval(p, 'interval', path, d.intervalMs)
  if (r.problems.length > before) return undefined
  return Object.freeze({
    name: name as string, unitId, function: fn, address, count, type, order: type === 'string' && (order === 'CDAB' || order === 'DCBA') ? 'ABCD' : order,
    scale, offset, ...(typeof unit === 'string' ? { unit } : {}), deadband, report, intervalMs,
  })
}

/** Two points of one unit and table that share a register (or bit) are refused: a write to one would change the other. */
function overlaps (r: Reader, points: Point[], list: unknown[], path: string): void {
  const index = new Map<Point, number>()
  for (const p of points) index.set(p, list.findIndex((x) => isObj(x) && x.name === p.name))
  const byTable = new Map<string, Point[]>()
  for (const p of points) {
    const k = `${p.unitId}/${p.function}`
    byTable.set(k, [...(byTable.get(k) ?? []), p])
  }
  for (const ps of byTable.values()) {
    ps.sort((a, b) => a.address - b.address)
    let reach = ps[0]! // the point reaching furthest so far
    for (const cur of ps.slice(1)) {
      if (cur.address < reach.address + reach.count) {
        r.problem(`${path}.points[${index.get(cur)}].address`, `overlaps point ${JSON.stringify(reach.name)} (unit ${reach.unitId} ${reach.function} ${reach.address}–${reach.address + reach.count - 1})`)
      }
      if (cur.address + cur.count > reach.address + reach.count) reach = cur
    }
  }
}
