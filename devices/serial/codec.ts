/**
 * Frames to event values and operation data to bytes. A frame is first turned into `raw` text by `encoding`
 * (utf8, hex, base64; `bytes` gives hex as raw and an array of byte values as the value), then — utf8 only —
 * parsed (`number`, `json`, `kv`, `regex` with named groups), then `scale`/`offset` apply:
 * `value × scale + offset`, to the value if it is a number, or to numeric fields (all of them, or the ones
 * named in the `field:factor,…` form). Failures throw a FrameError, which the binding reports and goes on.
 */
import { MechaError } from '../../core/errors.ts'
import type { Adjust, Encoding, SerialOptions } from './validate.ts'

export class FrameError extends Error {}

export function rawText (frame: Buffer, encoding: Encoding): string {
  switch (encoding) {
    case 'utf8': return frame.toString('utf8')
    case 'base64': return frame.toString('base64')
    default: return frame.toString('hex')
  }
}

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/

/** Numbers stay numbers, `true`/`false` booleans, everything else text. */
function scalar (s: string): unknown {
  if (NUMBER.test(s)) return Number(s)
  if (s === 'true') return true
  if (s === 'false') return false
  return s
}

function parseKv (text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const pairs = text.split(/[,;&]|\s+(?=[^\s=:]+\s*[=:])/).map((p) => p.trim()).filter((p) => p !== '')
  if (pairs.length === 0) throw new FrameError('no key=value pairs')
  for (const pair of pairs) {
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(pair)
    if (m === null) throw new FrameError(`not a key=value pair: ${JSON.stringify(pair)}`)
    out[m[1]!] = scalar(m[2]!.trim())
  }
  return out
}

function parseText (text: string, o: SerialOptions): unknown {
  switch (o.parse) {
    case 'none': return text
    case 'number': {
      if (!NUMBER.test(text)) throw new FrameError(`not a number: ${JSON.stringify(text.slice(0, 80))}`)
      return Number(text)
    }
    case 'json': {
      try { return JSON.parse(text) } catch (err) { throw new FrameError(`invalid JSON: ${(err as Error).message}`) }
    }
    case 'kv': return parseKv(text)
    case 'regex': {
      const m = o.pattern!.exec(text)
      if (m === null || m.groups === undefined) throw new FrameError(`does not match ${String(o.pattern)}`)
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(m.groups)) if (v !== undefined) out[k] = scalar(v)
      return out
    }
  }
}

function apply (value: unknown, adj: Adjust | undefined, op: (v: number, by: number) => number): unknown {
  if (adj === undefined) return value
  if (typeof value === 'number') return adj.kind === 'all' ? op(value, adj.by) : value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const [k, v] of Object.entries(out)) {
    if (typeof v !== 'number') continue
    const by = adj.kind === 'all' ? adj.by : adj.by[k]
    if (by !== undefined) out[k] = op(v, by)
  }
  return out
}

/** Floating error from `× 0.1` is not a reading: round to 12 significant digits. */
const tidy = (n: number): number => Number(n.toPrecision(12))

export function decodeFrame (frame: Buffer, o: SerialOptions): { value: unknown; raw: string } {
  const raw = rawText(frame, o.encoding)
  if (o.encoding === 'bytes') return { value: [...frame], raw }
  if (o.encoding !== 'utf8') return { value: raw, raw }
  let value = parseText(raw, o)
  value = apply(value, o.scale, (v, by) => tidy(v * by))
  value = apply(value, o.offset, (v, by) => tidy(v + by))
  return { value, raw }
}

/** The bytes a `write`/`request` sends: text per `encoding`, a byte array, a Buffer, or JSON of anything else. */
export function encodeData (data: unknown, encoding: Encoding): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (data instanceof Uint8Array) return Buffer.from(data)
  if (Array.isArray(data) && data.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Buffer.from(data as number[])
  if (typeof data === 'string') {
    if (encoding === 'hex' || encoding === 'bytes') {
      const hex = data.replace(/\s+/g, '')
      if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new MechaError('MECHA_ERR_BINDING_DATA', `data must be hex (encoding: ${encoding})`)
      return Buffer.from(hex, 'hex')
    }
    if (encoding === 'base64') {
      if (!/^[A-Za-z0-9+/\s]*={0,2}$/.test(data)) throw new MechaError('MECHA_ERR_BINDING_DATA', 'data must be base64 (encoding: base64)')
      return Buffer.from(data, 'base64')
    }
    return Buffer.from(data, 'utf8')
  }
  if (data === undefined || data === null) throw new MechaError('MECHA_ERR_BINDING_DATA', 'data is required')
  return Buffer.from(JSON.stringify(data), 'utf8')
}
