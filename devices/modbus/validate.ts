/**
 * `bindings.modbus` metadata: the link (RTU on a serial port, or TCP), request timing, and the device profile,
 * parsed into frozen options with every problem and its path listed. Light on purpose — `mecha check` imports
 * this, never modbus-serial nor the serialport addon. A `profileFile` is read here (synchronously, once) so
 * that its problems are found at check time too. The keys are documented in docs/devices.md.
 */
import { readFileSync } from 'node:fs'
import type { ConfigProblem } from '../../core/config/types.ts'
import type { BindingComponent } from '../../core/bindings/types.ts'
import { MetadataReader, metadataPath } from '../../core/bindings/metadata.ts'
import { BAUD_RATES, PARITIES } from '../serial/validate.ts'
import { parseProfileText, type Profile } from './profile.ts'

export type ModbusLinkOptions =
  | { readonly kind: 'rtu'; readonly path: string; readonly baudRate: number; readonly dataBits: 5 | 6 | 7 | 8; readonly parity: typeof PARITIES[number]; readonly stopBits: 1 | 1.5 | 2 }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }

export interface ModbusOptions {
  readonly link: ModbusLinkOptions
  /** How long one request waits for its answer. */
  readonly timeoutMs: number
  /** Further tries of a request that timed out or came back garbled (an exception answer is never retried). */
  readonly retries: number
  /** Silence on the bus between the end of one exchange and the next request. */
  readonly interFrameGapMs: number
  readonly reconnectMinMs: number
  readonly reconnectMaxMs: number
  readonly profile: Profile
  /** Where the profile came from, for messages (`profile` or the file path). */
  readonly profileSource: string
}

/** The Modbus RTU silent interval of 3.5 characters (11 bits each), and 1.75 ms above 19200 baud
 *  (Modbus over Serial Line V1.02 §2.5.1.1). */
export function rtuSilenceMs (baudRate: number): number {
  return baudRate > 19200 ? 1.75 : (3.5 * 11 * 1000) / baudRate
}

export function parseModbusMetadata (meta: Readonly<Record<string, string>>): { options: ModbusOptions; problems: ConfigProblem[] } {
  const r = new MetadataReader(meta)
  const path = r.string('path')
  const host = r.string('host')
  let link: ModbusLinkOptions
  const baudRate = r.int('baudRate', { default: 9600 })!
  const dataBits = r.int('dataBits', { min: 5, max: 8, default: 8 }) as 5 | 6 | 7 | 8
  const parity = r.oneOf('parity', PARITIES, 'none')
  const stopBits = r.oneOf('stopBits', ['1', '1.5', '2'] as const, '1')
  const port = r.int('port', { min: 1, max: 65535, default: 502 })!
  if (path !== undefined && host !== undefined) r.problem('host', 'path (RTU on a serial port) and host (TCP) exclude each other')
  if (host !== undefined) {
    for (const k of ['baudRate', 'dataBits', 'parity', 'stopBits']) if (r.has(k)) r.problem(k, 'is only used with path (RTU)')
    link = { kind: 'tcp', host, port }
  } else {
    if (path === undefined) r.problem('path', 'is required: a serial device for RTU, or set host (and port) for TCP')
    if (r.has('port')) r.problem('port', 'is only used with host (TCP)')
    let p = path ?? ''
    // A bare name is a stable udev alias, as for bindings.serial.
    if (p !== '' && !p.includes('/')) p = `/dev/serial/by-id/${p}`
    else if (p !== '' && !p.startsWith('/')) r.problem('path', 'must be an absolute device path or a /dev/serial/by-id name')
    if (!(BAUD_RATES as readonly number[]).includes(baudRate)) r.problem('baudRate', `must be a standard rate (${BAUD_RATES.join(', ')})`)
    link = { kind: 'rtu', path: p, baudRate, dataBits, parity, stopBits: Number(stopBits) as 1 | 1.5 | 2 }
  }
  const timeoutMs = r.int('timeoutMs', { min: 1, max: 60_000, default: 1000 })!
  const retries = r.int('retries', { min: 0, max: 10, default: 1 })!
  const defaultGap = link.kind === 'rtu' ? Math.ceil(rtuSilenceMs(link.baudRate)) : 0
  const interFrameGapMs = r.int('interFrameGapMs', { min: 0, max: 10_000, default: defaultGap })!
  const reconnectMinMs = r.int('reconnectMinMs', { min: 1, max: 600_000, default: 250 })!
  const reconnectMaxMs = r.int('reconnectMaxMs', { min: 1, max: 3_600_000, default: 30_000 })!
  if (reconnectMaxMs < reconnectMinMs) r.problem('reconnectMaxMs', 'must be ≥ reconnectMinMs')
  const inline = r.string('profile')
  const file = r.string('profileFile')
  let text: string | undefined
  let source = 'profile'
  let sourcePath = metadataPath('profile')
  if (inline !== undefined && file !== undefined) r.problem('profileFile', 'profile and profileFile exclude each other')
  else if (inline !== undefined) text = inline
  else if (file !== undefined) {
    source = file
    sourcePath = metadataPath('profileFile')
    try { text = readFileSync(file, 'utf8') } catch (err) { r.problem('profileFile', `cannot be read: ${(err as Error).message}`) }
  } else r.problem('profile', 'is required (the device profile as YAML or JSON), or set profileFile')
  const parsed = text === undefined ? undefined : parseProfileText(text, sourcePath)
  const problems = [...r.finish(), ...(parsed?.problems ?? [])]
  const options: ModbusOptions = Object.freeze({
    link: Object.freeze(link), timeoutMs, retries, interFrameGapMs, reconnectMinMs, reconnectMaxMs,
    profile: parsed?.profile ?? Object.freeze({ points: [], maxRegistersPerRequest: 125, maxBitsPerRequest: 2000, maxGap: 8, maxGapBits: 64 }),
    profileSource: source,
  })
  return { options, problems }
}

export function validateModbus (component: BindingComponent): ConfigProblem[] {
  return parseModbusMetadata(component.metadata).problems
}
