/**
 * One queued message as stored in the outbox, and its key.
 *
 * Key: `q/<priority 0-9>/<seq, 16 digits>` — bytewise order is priority, then arrival, so one range read per
 * priority level yields the drain order. Value: a Buffer `crc32 (4 bytes, big-endian) + CBOR array`; the
 * checksum turns silent corruption into a quarantined, counted entry instead of a garbled cloud message.
 */
import { decodeCbor } from '../core/store/index.ts'
import { crc32 } from './crc32.ts'
import { decodeEntryCbor, encodeEntryCbor, type EntryTuple } from './entry-cbor.ts'

export interface OutboxEntry {
  /** Stable message id (`mecha-id`): `<outbox epoch>-<seq>`, the same on every resend. */
  readonly id: string
  readonly seq: number
  readonly priority: number
  /** Topic on the cloud broker. */
  readonly topic: string
  /** Topic it was published on locally (dead-letter and envelope). */
  readonly localTopic: string
  readonly payload: Buffer
  readonly qos: 0 | 1 | 2
  readonly retain: boolean
  /** Enqueue time, ms since the epoch. */
  readonly ts: number
  /** Expiry, ms since the epoch; 0 = never. */
  readonly expiresAt: number
  /** Cloud topic of the batch this entry goes in, when its rule batches. */
  readonly batchTopic?: string
}

export const QUEUE_PREFIX = 'q/'
export const SEQ_DIGITS = 16

export function entryKey (priority: number, seq: number): string {
  return `${QUEUE_PREFIX}${priority}/${String(seq).padStart(SEQ_DIGITS, '0')}`
}

export function levelPrefix (priority: number): string {
  return `${QUEUE_PREFIX}${priority}/`
}

/** Priority encoded in a key, or -1 when the key is not a queue key. */
export function keyPriority (key: string): number {
  // Called per entry on hot paths (eviction, withdrawals): character codes, not a regular expression.
  if (key.length < 4 || key.charCodeAt(0) !== 0x71 || key.charCodeAt(1) !== 0x2f || key.charCodeAt(3) !== 0x2f) return -1
  const d = key.charCodeAt(2) - 0x30
  return d >= 0 && d <= 9 ? d : -1
}

export function encodeEntry (e: OutboxEntry): Buffer {
  const out = encodeEntryCbor([e.id, e.seq, e.priority, e.topic, e.localTopic, e.payload, e.qos, e.retain ? 1 : 0, e.ts, e.expiresAt, e.batchTopic ?? null], 4)
  out.writeUInt32BE(crc32(out.subarray(4)), 0)
  return out
}

/** Decodes a stored value; throws on anything that is not an intact entry (the caller quarantines it). */
export function decodeEntry (raw: unknown): OutboxEntry {
  if (!(raw instanceof Uint8Array) || raw.length < 5) throw new Error('outbox entry is not a byte string')
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  const body = buf.subarray(4)
  if (buf.readUInt32BE(0) !== crc32(body)) throw new Error('outbox entry checksum mismatch')
  // The hand-written reader covers what we write; cbor-x reads anything else that is still valid CBOR.
  const a = decodeEntryCbor(body) ?? slowTuple(body)
  const [id, seq, priority, topic, localTopic, payload, qos, retain, ts, expiresAt, batchTopic] = a
  return {
    id,
    seq,
    priority,
    topic,
    localTopic,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
    qos: qos as 0 | 1 | 2,
    retain: retain === 1,
    ts,
    expiresAt,
    ...(typeof batchTopic === 'string' ? { batchTopic } : {}),
  }
}

function slowTuple (body: Buffer): EntryTuple {
  const a = decodeCbor<unknown[]>(body)
  if (!Array.isArray(a) || a[0] !== 1 || a.length !== 12) throw new Error('outbox entry has an unknown layout')
  const [, id, seq, priority, topic, localTopic, payload, qos, retain, ts, expiresAt, batchTopic] = a
  if (typeof id !== 'string' || typeof seq !== 'number' || typeof topic !== 'string' || !(payload instanceof Uint8Array)) {
    throw new Error('outbox entry has wrong field types')
  }
  return [id, seq, priority as number, topic, localTopic as string, payload, qos as number, retain as number, ts as number, expiresAt as number,
    typeof batchTopic === 'string' ? batchTopic : null]
}
