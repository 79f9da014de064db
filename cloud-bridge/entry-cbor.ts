/**
 * The CBOR of an outbox entry, written and read by hand. Every forwarded message is encoded once and, when it
 * is read back from disk (a backlog), decoded once; through cbor-x's general encoder that was one of the larger
 * costs of a message. The layout is fixed (an array of 12: uint, text, uint, uint, text, text, bytes, uint,
 * uint, number, number, text or null), so the bytes are produced directly — the same bytes cbor-x produces for
 * that array (minimal-length heads; integers from 2^32 up as float64, as cbor-x writes them), which a test checks.
 * The reader accepts any CBOR encoding of those values (RFC 8949 §3) and returns undefined for anything else, so
 * the caller can fall back to cbor-x.
 */

/** The values of an entry, in stored order after the leading version 1. */
export type EntryTuple = [id: string, seq: number, priority: number, topic: string, localTopic: string, payload: Uint8Array,
  qos: number, retain: number, ts: number, expiresAt: number, batchTopic: string | null]

function headLength (n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

function numberLength (n: number): number {
  return Number.isInteger(n) && n >= 0 && n < 0x100000000 ? headLength(n) : 9
}

function writeHead (buf: Buffer, off: number, major: number, n: number): number {
  const m = major << 5
  if (n < 24) { buf[off] = m | n; return off + 1 }
  if (n < 0x100) { buf[off] = m | 24; buf[off + 1] = n; return off + 2 }
  if (n < 0x10000) { buf[off] = m | 25; buf.writeUInt16BE(n, off + 1); return off + 3 }
  buf[off] = m | 26; buf.writeUInt32BE(n, off + 1); return off + 5
}

function writeNumber (buf: Buffer, off: number, n: number): number {
  if (Number.isInteger(n) && n >= 0 && n < 0x100000000) return writeHead(buf, off, 0, n)
  buf[off] = 0xfb
  buf.writeDoubleBE(n, off + 1)
  return off + 9
}

function writeText (buf: Buffer, off: number, s: string, len: number): number {
  off = writeHead(buf, off, 3, len)
  if (len > 0) buf.write(s, off, len, 'utf8')
  return off + len
}

/** `prefix` spare bytes, then the CBOR of `[1, ...t]`. */
export function encodeEntryCbor (t: EntryTuple, prefix: number): Buffer {
  const [id, seq, priority, topic, localTopic, payload, qos, retain, ts, expiresAt, batchTopic] = t
  const idLen = Buffer.byteLength(id)
  const topicLen = Buffer.byteLength(topic)
  const localLen = Buffer.byteLength(localTopic)
  const batchLen = batchTopic === null ? -1 : Buffer.byteLength(batchTopic)
  const size = 2 + headLength(idLen) + idLen + numberLength(seq) + numberLength(priority) + headLength(topicLen) + topicLen +
    headLength(localLen) + localLen + headLength(payload.length) + payload.length + numberLength(qos) + numberLength(retain) +
    numberLength(ts) + numberLength(expiresAt) + (batchLen < 0 ? 1 : headLength(batchLen) + batchLen)
  const buf = Buffer.allocUnsafe(prefix + size)
  let off = prefix
  buf[off++] = 0x8c // array of 12
  buf[off++] = 0x01
  off = writeText(buf, off, id, idLen)
  off = writeNumber(buf, off, seq)
  off = writeNumber(buf, off, priority)
  off = writeText(buf, off, topic, topicLen)
  off = writeText(buf, off, localTopic, localLen)
  off = writeHead(buf, off, 2, payload.length)
  buf.set(payload, off); off += payload.length
  off = writeNumber(buf, off, qos)
  off = writeNumber(buf, off, retain)
  off = writeNumber(buf, off, ts)
  off = writeNumber(buf, off, expiresAt)
  if (batchTopic === null) buf[off++] = 0xf6
  else off = writeText(buf, off, batchTopic, batchLen)
  return buf
}

/** Reads `[1, ...tuple]` from `body`; undefined when it is not exactly that (the caller tries cbor-x). */
export function decodeEntryCbor (body: Buffer): EntryTuple | undefined {
  let off = 0
  const end = body.length
  /** The argument of the head at `off` for `major`, or -1. Advances `off`. */
  const head = (major: number): number => {
    if (off >= end || body[off] >> 5 !== major) return -1
    const info = body[off] & 0x1f
    if (info < 24) { off += 1; return info }
    if (info === 24 && off + 2 <= end) { const n = body[off + 1]; off += 2; return n }
    if (info === 25 && off + 3 <= end) { const n = body.readUInt16BE(off + 1); off += 3; return n }
    if (info === 26 && off + 5 <= end) { const n = body.readUInt32BE(off + 1); off += 5; return n }
    if (info === 27 && off + 9 <= end) { const n = Number(body.readBigUInt64BE(off + 1)); off += 9; return n }
    return -1
  }
  const number = (): number => {
    if (off < end && body[off] === 0xfb && off + 9 <= end) { const n = body.readDoubleBE(off + 1); off += 9; return n }
    return head(0)
  }
  const text = (): string | undefined => {
    const len = head(3)
    if (len < 0 || off + len > end) return undefined
    const s = body.toString('utf8', off, off + len)
    off += len
    return s
  }
  if (head(4) !== 12 || head(0) !== 1) return undefined
  const id = text()
  const seq = number()
  const priority = number()
  const topic = text()
  const localTopic = text()
  const payloadLen = head(2)
  if (id === undefined || topic === undefined || localTopic === undefined || payloadLen < 0 || off + payloadLen > end) return undefined
  // A view into the stored value, not a copy: the entry owns that buffer.
  const payload = body.subarray(off, off + payloadLen)
  off += payloadLen
  const qos = number()
  const retain = number()
  const ts = number()
  const expiresAt = number()
  let batchTopic: string | null | undefined = null
  if (off < end && body[off] === 0xf6) off++
  else batchTopic = text()
  if (batchTopic === undefined || off !== end || seq < 0 || priority < 0 || qos < 0 || retain < 0 || ts < 0 || expiresAt < 0) return undefined
  return [id, seq, priority, topic, localTopic, payload, qos, retain, ts, expiresAt, batchTopic]
}
