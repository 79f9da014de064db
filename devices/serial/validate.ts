/**
 * `bindings.serial` metadata: parsed into frozen options with every problem listed. Light on purpose — the
 * config check imports this, never the serialport addon. The keys are documented in docs/devices.md.
 */
import type { ConfigProblem } from '../../core/config/types.ts'
import type { BindingComponent } from '../../core/bindings/types.ts'
import { MetadataReader } from '../../core/bindings/metadata.ts'

export const BAUD_RATES = [50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000] as const
export const FRAMINGS = ['delimiter', 'length', 'timeout', 'raw'] as const
export const ENCODINGS = ['utf8', 'hex', 'base64', 'bytes'] as const
export const PARSERS = ['none', 'number', 'json', 'kv', 'regex'] as const
export const PARITIES = ['none', 'even', 'odd', 'mark', 'space'] as const

export type Framing = typeof FRAMINGS[number]
export type Encoding = typeof ENCODINGS[number]
export type Parser = typeof PARSERS[number]

/** `scale`/`offset`: one number for the value (or every numeric field), or per-field factors. */
export type Adjust = { kind: 'all'; by: number } | { kind: 'fields'; by: Readonly<Record<string, number>> }

export interface SerialOptions {
  readonly path: string
  readonly baudRate: number
  readonly dataBits: 5 | 6 | 7 | 8
  readonly parity: typeof PARITIES[number]
  readonly stopBits: 1 | 1.5 | 2
  readonly rtscts: boolean
  readonly framing: Framing
  /** The frame delimiter, escapes resolved. */
  readonly delimiter: Buffer
  /** Delimiter `\n`: a trailing `\r` is stripped from each frame, so `\r\n` devices work unchanged. */
  readonly stripCR: boolean
  readonly length: number
  readonly interByteTimeoutMs: number
  readonly maxFrameBytes: number
  readonly encoding: Encoding
  readonly parse: Parser
  readonly pattern?: RegExp
  readonly scale?: Adjust
  readonly offset?: Adjust
  /** Appended to every `write`/`request` unless the call's metadata says `appendDelimiter: false`. */
  readonly appendDelimiter: boolean
  readonly requestTimeoutMs: number
  readonly reconnectMinMs: number
  readonly reconnectMaxMs: number
}

/** `\n`, `\r`, `\t`, `\0`, `\xHH` and `\\` in a delimiter written in single-quoted YAML (or JSON-escaped). */
export function unescapeDelimiter (s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[nrt0\\])/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16))
    return ({ n: '\n', r: '\r', t: '\t', 0: '\0', '\\': '\\' } as Record<string, string>)[e]!
  })
}

function adjust (r: MetadataReader, key: string): Adjust | undefined {
  const s = r.string(key)
  if (s === undefined) return undefined
  if (/^\s*-?[\d.]+(e-?\d+)?\s*$/i.test(s) && Number.isFinite(Number(s))) return { kind: 'all', by: Number(s) }
  const by: Record<string, number> = {}
  for (const part of s.split(',')) {
    const m = /^\s*([^:\s]+)\s*:\s*(\S+)\s*$/.exec(part)
    if (m === null || !Number.isFinite(Number(m[2]))) { r.problem(key, `must be a number or "field:number,…" (got ${JSON.stringify(s)})`); return undefined }
    by[m[1]!] = Number(m[2])
  }
  return { kind: 'fields', by }
}

export function parseSerialMetadata (meta: Readonly<Record<string, string>>): { options: SerialOptions; problems: ConfigProblem[] } {
  const r = new MetadataReader(meta)
  let path = r.string('path', { required: true }) ?? ''
  // A bare name is a stable udev alias: /dev/serial/by-id/usb-FTDI_…-if00-port0.
  if (path !== '' && !path.includes('/')) path = `/dev/serial/by-id/${path}`
  else if (path !== '' && !path.startsWith('/')) r.problem('path', 'must be an absolute device path or a /dev/serial/by-id name')
  const baudRate = r.int('baudRate', { default: 9600 })!
  if (!(BAUD_RATES as readonly number[]).includes(baudRate)) r.problem('baudRate', `must be a standard rate (${BAUD_RATES.join(', ')})`)
  const dataBits = r.int('dataBits', { min: 5, max: 8, default: 8 }) as 5 | 6 | 7 | 8
  const parity = r.oneOf('parity', PARITIES, 'none')
  const stopBits = r.oneOf('stopBits', ['1', '1.5', '2'] as const, '1')
  const rtscts = r.bool('rtscts', false)
  const framing = r.oneOf('framing', FRAMINGS, 'delimiter')
  const delimText = unescapeDelimiter(r.string('delimiter', { default: '\n' })!)
  if (delimText === '') r.problem('delimiter', 'must not be empty')
  const length = r.int('length', { min: 1, max: 65536, required: framing === 'length', default: 1 })!
  if (framing !== 'length' && r.has('length')) r.problem('length', 'is only used with framing: length')
  const interByteTimeoutMs = r.int('interByteTimeoutMs', { min: 1, max: 60_000, default: 50 })!
  const maxFrameBytes = r.int('maxFrameBytes', { min: 1, max: 1 << 20, default: 4096 })!
  const encoding = r.oneOf('encoding', ENCODINGS, 'utf8')
  const parse = r.oneOf('parse', PARSERS, 'none')
  let pattern: RegExp | undefined
  const patternText = r.string('pattern', { required: parse === 'regex' })
  if (patternText !== undefined) {
    if (parse !== 'regex') r.problem('pattern', 'is only used with parse: regex')
    try {
      pattern = new RegExp(patternText)
      if (!/\(\?<[A-Za-z_$][\w$]*>/.test(patternText)) r.problem('pattern', 'needs at least one named group, e.g. (?<temp>[\\d.]+)')
    } catch (err) { r.problem('pattern', `is not a valid regular expression: ${(err as Error).message}`) }
  }
  if (parse !== 'none' && encoding !== 'utf8') r.problem('parse', `needs encoding: utf8 (got ${encoding})`)
  const scale = adjust(r, 'scale')
  const offset = adjust(r, 'offset')
  if ((scale !== undefined || offset !== undefined) && parse === 'none') r.problem(scale !== undefined ? 'scale' : 'offset', 'needs a parse mode (number, json, kv or regex)')
  const appendDelimiter = r.bool('appendDelimiter', framing === 'delimiter')
  const requestTimeoutMs = r.int('requestTimeoutMs', { min: 1, max: 600_000, default: 2000 })!
  const reconnectMinMs = r.int('reconnectMinMs', { min: 1, max: 600_000, default: 250 })!
  const reconnectMaxMs = r.int('reconnectMaxMs', { min: 1, max: 3_600_000, default: 30_000 })!
  if (reconnectMaxMs < reconnectMinMs) r.problem('reconnectMaxMs', 'must be ≥ reconnectMinMs')
  const problems = r.finish()
  const options: SerialOptions = Object.freeze({
    path, baudRate, dataBits, parity, stopBits: Number(stopBits) as 1 | 1.5 | 2, rtscts, framing,
    // \xHH escapes are bytes; other text is UTF-8.
    delimiter: Buffer.from(delimText === '' ? '\n' : delimText, /^[\x00-\xff]*$/.test(delimText) ? 'latin1' : 'utf8'),
    stripCR: delimText === '\n',
    length, interByteTimeoutMs, maxFrameBytes, encoding, parse,
    ...(pattern !== undefined ? { pattern } : {}),
    ...(scale !== undefined ? { scale } : {}),
    ...(offset !== undefined ? { offset } : {}),
    appendDelimiter, requestTimeoutMs, reconnectMinMs, reconnectMaxMs,
  })
  return { options, problems }
}

export function validateSerial (component: BindingComponent): ConfigProblem[] {
  return parseSerialMetadata(component.metadata).problems
}
