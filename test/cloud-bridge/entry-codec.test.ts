/**
 * The hand-written CBOR of outbox entries (entry-cbor.ts) against cbor-x, the codec that wrote every outbox so
 * far: the same bytes for the same entry, and every entry cbor-x wrote reads back the same — including
 * encodings we never produce ourselves (64-bit heads, non-minimal heads), which go through the fallback.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeCbor, encodeCbor } from '../../core/store/index.ts'
import { decodeEntryCbor, encodeEntryCbor, type EntryTuple } from '../../cloud-bridge/entry-cbor.ts'
import { decodeEntry, encodeEntry, type OutboxEntry } from '../../cloud-bridge/outbox-entry.ts'
import { crc32 } from '../../cloud-bridge/crc32.ts'

function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

// Lengths on both sides of every CBOR head size, and characters of 1 to 4 UTF-8 bytes.
const LENGTHS = [0, 1, 23, 24, 255, 256, 65_535, 65_536]
const CHARS = ['a', 'é', '€', '😀']
const NUMBERS = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_764_655_825_000, 2 ** 53 - 1]

function text (r: () => number, len: number): string {
  let s = ''
  while (Buffer.byteLength(s) < len) s += CHARS[Math.floor(r() * CHARS.length)]
  return s
}

function entry (r: () => number): OutboxEntry {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]
  const batch = r() < 0.5
  return {
    id: text(r, pick([0, 10, 30])),
    seq: pick(NUMBERS),
    priority: Math.floor(r() * 10),
    topic: text(r, pick(LENGTHS.slice(0, 6))),
    localTopic: text(r, pick(LENGTHS.slice(0, 6))),
    payload: Buffer.alloc(pick(LENGTHS), Math.floor(r() * 256)),
    qos: pick([0, 1, 2] as const),
    retain: r() < 0.5,
    ts: pick(NUMBERS),
    expiresAt: pick(NUMBERS),
    ...(batch ? { batchTopic: text(r, pick([1, 40, 300])) } : {}),
  }
}

const tuple = (e: OutboxEntry): EntryTuple => [e.id, e.seq, e.priority, e.topic, e.localTopic, e.payload, e.qos, e.retain ? 1 : 0, e.ts, e.expiresAt, e.batchTopic ?? null]

test('entry codec - the same bytes as cbor-x, and read back equal', () => {
  const r = rng(7)
  for (let i = 0; i < 400; i++) {
    const e = entry(r)
    const t = tuple(e)
    const ours = encodeEntryCbor(t, 0)
    const theirs = encodeCbor([1, ...t])
    assert.ok(ours.equals(theirs), `entry ${i}: ${ours.subarray(0, 40).toString('hex')} vs ${theirs.subarray(0, 40).toString('hex')}`)
    const back = decodeEntryCbor(theirs)
    assert.ok(back !== undefined, `entry ${i} read by hand`)
    assert.equal(back.map((v) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), t.map((v) => v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))
    assert.equal(decodeEntry(encodeEntry(e)), e)
  }
})

test('entry codec - other valid encodings fall back to cbor-x; broken ones are refused', () => {
  const e: OutboxEntry = { id: 'ab-9', seq: 9, priority: 2, topic: 'gw/t', localTopic: 't', payload: Buffer.from('hi'), qos: 1, retain: false, ts: 1000, expiresAt: 0 }
  const wrap = (body: Buffer): Buffer => { const out = Buffer.alloc(4 + body.length); out.writeUInt32BE(crc32(body), 0); body.copy(out, 4); return out }
  const std = encodeCbor([1, ...tuple(e)])
  // seq with a 64-bit head (0x1b): valid CBOR we never write; the hand reader takes it.
  const seqAt = std.indexOf(Buffer.from([0x09]), 7) // after [0x8c, 0x01, 0x64 'ab-9']
  const wide = Buffer.concat([std.subarray(0, seqAt), Buffer.from([0x1b, 0, 0, 0, 0, 0, 0, 0, 9]), std.subarray(seqAt + 1)])
  assert.ok(decodeEntryCbor(wide) !== undefined)
  assert.equal(decodeEntry(wrap(wide)), e)
  // ts 1000 as a float32 (0xfa): valid, not read by hand, so cbor-x reads it.
  const tsAt = std.indexOf(Buffer.from([0x19, 0x03, 0xe8]))
  const f32 = Buffer.concat([std.subarray(0, tsAt), Buffer.from([0xfa, 0x44, 0x7a, 0x00, 0x00]), std.subarray(tsAt + 3)])
  assert.is(decodeEntryCbor(f32), undefined)
  assert.equal(decodeEntry(wrap(f32)), e)
  // A map, a short array, trailing garbage: never an entry.
  assert.throws(() => decodeEntry(wrap(encodeCbor({ a: 1 }))), /layout/)
  assert.throws(() => decodeEntry(wrap(encodeCbor([1, 'x']))), /layout/)
  assert.is(decodeEntryCbor(Buffer.concat([std, Buffer.from([0])])), undefined)
})

test.run()
