/**
 * The optional envelope that carries the stable id inside the payload, for MQTT 3.1.1 links (no user
 * properties). JSON: `{"id","ts","topic","payload"}` with the payload base64; CBOR: a map with the same keys and
 * the payload as a byte string. docs/cloud-bridge.md documents both.
 */
import { decodeCbor, encodeCbor } from '../core/store/index.ts'

export type EnvelopeKind = 'none' | 'json' | 'cbor'

export interface Envelope { id: string; ts: number; topic: string; payload: Buffer }

export function wrapEnvelope (kind: EnvelopeKind, e: Envelope): Buffer {
  if (kind === 'none') return e.payload
  if (kind === 'json') return Buffer.from(JSON.stringify({ id: e.id, ts: e.ts, topic: e.topic, payload: e.payload.toString('base64') }))
  return encodeCbor({ id: e.id, ts: e.ts, topic: e.topic, payload: e.payload })
}

/** For consumers (and tests): reads an envelope of either kind. */
export function unwrapEnvelope (kind: 'json' | 'cbor', bytes: Uint8Array): Envelope {
  if (kind === 'json') {
    const o = JSON.parse(Buffer.from(bytes).toString('utf8')) as { id: string; ts: number; topic: string; payload: string }
    return { id: o.id, ts: o.ts, topic: o.topic, payload: Buffer.from(o.payload, 'base64') }
  }
  const o = decodeCbor<{ id: string; ts: number; topic: string; payload: Uint8Array }>(bytes)
  return { id: o.id, ts: o.ts, topic: o.topic, payload: Buffer.from(o.payload) }
}
