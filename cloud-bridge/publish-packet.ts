/**
 * Encodes one MQTT PUBLISH packet into a single Buffer: fixed header, topic, packet id, MQTT 5 properties,
 * payload. The sender's QoS 1 publishes skip MQTT.js's per-publish machinery (packet object, outgoing store,
 * mqtt-packet writing each field as its own chunk) and go to the socket as one write each; a turn's worth of
 * them leaves in one corked writev.
 *
 * Layout: MQTT 3.1.1 §3.3 and MQTT 5 §3.3. Only what the bridge sends: no topic alias, no DUP (a resend after a
 * reconnect starts a new session with `cleanStart`, so it is a new delivery, §4.4), properties limited to
 * content type (0x03) and user properties (0x26).
 */

/** The MQTT 5 properties the bridge puts on a publish. */
export interface PublishProperties {
  contentType?: string
  userProperties?: Readonly<Record<string, string>>
}

export interface PublishFields {
  topic: string
  payload: Uint8Array
  qos: 0 | 1 | 2
  retain: boolean
  /** Required for QoS 1 and 2 (1-65535). */
  messageId?: number
  properties?: PublishProperties
}

/** The largest remaining length a packet can have (four-byte variable byte integer, §1.5.5). */
export const MAX_REMAINING_LENGTH = 268_435_455

function varintLength (n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4
}

function writeVarint (buf: Buffer, off: number, n: number): number {
  do {
    let byte = n % 0x80
    n = Math.floor(n / 0x80)
    if (n > 0) byte |= 0x80
    buf[off++] = byte
  } while (n > 0)
  return off
}

function writeString (buf: Buffer, off: number, s: string, len: number): number {
  buf.writeUInt16BE(len, off)
  if (len > 0) buf.write(s, off + 2, len, 'utf8')
  return off + 2 + len
}

/** Byte length of the properties block (without its own length prefix). */
function propertiesLength (p: PublishProperties | undefined): number {
  if (p === undefined) return 0
  let n = 0
  if (p.contentType !== undefined) n += 3 + Buffer.byteLength(p.contentType)
  if (p.userProperties !== undefined) {
    for (const k in p.userProperties) n += 5 + Buffer.byteLength(k) + Buffer.byteLength(p.userProperties[k])
  }
  return n
}

/** The whole packet, ready for the socket. Throws a RangeError for what MQTT cannot carry. */
export function encodePublish (protocolVersion: 4 | 5, f: PublishFields): Buffer {
  const topicLen = Buffer.byteLength(f.topic)
  if (topicLen > 0xffff) throw new RangeError('topic longer than 65535 bytes')
  const withId = f.qos > 0
  if (withId && (f.messageId === undefined || f.messageId < 1 || f.messageId > 0xffff)) throw new RangeError('QoS 1 and 2 need a packet id 1-65535')
  const v5 = protocolVersion === 5
  const propsLen = v5 ? propertiesLength(f.properties) : 0
  const remaining = 2 + topicLen + (withId ? 2 : 0) + (v5 ? varintLength(propsLen) + propsLen : 0) + f.payload.length
  if (remaining > MAX_REMAINING_LENGTH) throw new RangeError('packet larger than MQTT allows')
  const buf = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining)
  buf[0] = 0x30 | (f.qos << 1) | (f.retain ? 1 : 0)
  let off = writeVarint(buf, 1, remaining)
  off = writeString(buf, off, f.topic, topicLen)
  if (withId) { buf.writeUInt16BE(f.messageId as number, off); off += 2 }
  if (v5) {
    off = writeVarint(buf, off, propsLen)
    const p = f.properties
    if (p?.contentType !== undefined) { buf[off++] = 0x03; off = writeString(buf, off, p.contentType, Buffer.byteLength(p.contentType)) }
    if (p?.userProperties !== undefined) {
      for (const k in p.userProperties) {
        const v = p.userProperties[k]
        buf[off++] = 0x26
        off = writeString(buf, off, k, Buffer.byteLength(k))
        off = writeString(buf, off, v, Buffer.byteLength(v))
      }
    }
  }
  buf.set(f.payload, off)
  return buf
}
