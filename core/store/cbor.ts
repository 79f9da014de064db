import { Encoder } from 'cbor-x'

// Plain CBOR (no record extension) so other tools can read what we store; Buffers stay byte strings.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true })

export function encodeCbor (value: unknown): Buffer {
  return encoder.encode(value)
}

export function decodeCbor<T = unknown> (bytes: Uint8Array): T {
  return encoder.decode(bytes) as T
}

/** An abstract-level encoding, so sublevels store CBOR values. */
export const cborEncoding = {
  name: 'cbor',
  format: 'buffer' as const,
  encode: (value: unknown): Buffer => encodeCbor(value),
  decode: (bytes: Uint8Array): unknown => decodeCbor(bytes),
}
