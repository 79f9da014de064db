// CRC-32 (IEEE 802.3), so a flipped bit in an outbox entry is detected and the entry quarantined instead of
// sent garbled. Every entry is checked when it is written and when it is read back, so it is on the hot path:
// zlib's native crc32 where Node has it (20.15+, 22.2+), this table version otherwise (same polynomial, same result).
import * as zlib from 'node:zlib'

const TABLE = new Uint32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  TABLE[n] = c >>> 0
}

export function crc32Table (bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32

export const crc32: (bytes: Uint8Array) => number = typeof native === 'function' ? (bytes) => native(bytes) >>> 0 : crc32Table
