/**
 * The batch wire format (docs/cloud-bridge.md): one CBOR map per publish,
 *   { v: 1, n: <node id>, m: [ [id, topic, payload, ts], ... ] }
 * `topic` is the cloud topic each message would have had unbatched; `payload` a byte string; `ts` the
 * enqueue time in ms since the epoch. Consumers decode with `decodeBatch` (this module has no other imports
 * than cbor-x, so it can be copied into a cloud service as is).
 */
import { Encoder } from 'cbor-x'

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true })

export const BATCH_VERSION = 1
/** Content type set on MQTT 5 batch publishes. */
export const BATCH_CONTENT_TYPE = 'application/vnd.mecha.batch+cbor'

export interface BatchMessage { id: string; topic: string; payload: Uint8Array; ts: number }
export interface Batch { v: number; node: string; messages: BatchMessage[] }

export function encodeBatch (node: string, messages: readonly BatchMessage[]): Buffer {
  return cbor.encode({ v: BATCH_VERSION, n: node, m: messages.map((m) => [m.id, m.topic, m.payload, m.ts]) })
}

export function decodeBatch (bytes: Uint8Array): Batch {
  const o = cbor.decode(bytes) as { v?: unknown; n?: unknown; m?: unknown }
  if (o === null || typeof o !== 'object' || o.v !== BATCH_VERSION || !Array.isArray(o.m)) throw new TypeError('not a mecha batch (v1)')
  return {
    v: o.v,
    node: String(o.n),
    messages: o.m.map((row: unknown) => {
      if (!Array.isArray(row) || row.length < 4) throw new TypeError('malformed batch row')
      return { id: String(row[0]), topic: String(row[1]), payload: row[2] as Uint8Array, ts: Number(row[3]) }
    }),
  }
}

/**
 * Roughly what publishing the messages one by one would have cost on the wire (fixed header, topic, packet id,
 * the `mecha-id` user property, payload), to report the bytes batching saved.
 */
export function unbatchedWireBytes (messages: readonly BatchMessage[]): number {
  return messages.reduce((a, m) => a + 2 + 2 + Buffer.byteLength(m.topic) + 2 + 1 + 16 + m.id.length + m.payload.length, 0)
}
