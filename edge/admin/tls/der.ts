/**
 * The few DER encodings (ITU-T X.690) an X.509 certificate needs. Node's crypto makes keys and signatures but
 * no certificates, and one self-signed certificate does not earn a dependency (DESIGN.md, small device).
 */

function length (n: number): Buffer {
  // X.690 §8.1.3: short form below 128, else the long form with the count of length bytes first.
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

export function tlv (tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(value.length), value])
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00])
export const octetString = (b: Buffer): Buffer => tlv(0x04, b)
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'))
export const boolean = (v: boolean): Buffer => Buffer.from([0x01, 0x01, v ? 0xff : 0x00])
/** A BIT STRING of whole bytes (no unused bits), as signatures and keys are. */
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]))
/** Context-specific tag `n`: constructed (EXPLICIT wrappers) or primitive (IMPLICIT strings in a SAN). */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner)
export const implicit = (n: number, value: Buffer): Buffer => tlv(0x80 | n, value)

/** A non-negative INTEGER from big-endian bytes: leading zeros trimmed, a 0x00 prepended if the top bit is set (§8.3.2). */
export function unsignedInteger (bytes: Buffer): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  let v = bytes.subarray(i)
  if (v.length === 0) v = Buffer.from([0])
  if ((v[0] & 0x80) !== 0) v = Buffer.concat([Buffer.from([0]), v])
  return tlv(0x02, v)
}

export const smallInteger = (n: number): Buffer => {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new TypeError('smallInteger takes 0..2^31-1')
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return unsignedInteger(b)
}

/** OBJECT IDENTIFIER (§8.19): the first two arcs in one byte, then base-128 with continuation bits. */
export function oid (dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number)
  if (arcs.length < 2 || arcs.some((a) => !Number.isInteger(a) || a < 0)) throw new TypeError(`bad OID ${dotted}`)
  const out: number[] = [arcs[0] * 40 + arcs[1]]
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f))
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

/**
 * RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) for years 1950–2049, GeneralizedTime (YYYYMMDDHHMMSSZ) from 2050.
 */
export function time (d: Date): Buffer {
  const p = (n: number): string => String(n).padStart(2, '0')
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`
  const y = d.getUTCFullYear()
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${p(y % 100)}${rest}`, 'ascii'))
  return tlv(0x18, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'ascii'))
}
