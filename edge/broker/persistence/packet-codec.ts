import type { BrokerPacket } from './types.ts'

/**
 * How packets become stored values. Values are CBOR (core/store), which keeps Buffers as byte strings and
 * `undefined` as itself; functions (aedes' QoSPacket carries a `writeCallback`) cannot be stored and are dropped.
 */

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

/** A plain copy of the packet's own data fields: what retained messages, wills and PUBRELs are stored as. */
export function storable (packet: BrokerPacket): BrokerPacket {
  const out: BrokerPacket = {}
  for (const [k, v] of Object.entries(packet)) if (typeof v !== 'function') out[k] = v
  return out
}

/**
 * The packet as a session queue holds it: the same fields aedes-packet 4 keeps when aedes wraps a packet
 * (`new Packet(original)`, what the reference persistence stores), so a restored queue looks exactly like the
 * in-memory one. The wire-only `length` goes, and a packet identifier is dropped for QoS > 0: the broker assigns
 * a fresh one when it sends the packet to this client [MQTT-2.3.1-1] and records it with `outgoingUpdate`.
 */
export function queuedPacket (original: BrokerPacket): BrokerPacket {
  const p: BrokerPacket = {}
  for (const k of ['clientId', 'nl', 'properties', 'messageExpiry']) if (hasOwn(original, k)) p[k] = original[k]
  p.cmd = original.cmd || 'publish'
  p.brokerId = original.brokerId || undefined
  p.brokerCounter = original.brokerCounter || 0
  p.topic = original.topic
  p.payload = original.payload || Buffer.alloc(0)
  p.qos = original.qos || 0
  p.retain = original.retain || false
  p.dup = original.dup || false
  // [MQTT-2.3.1-5] a QoS 0 PUBLISH carries no packet identifier
  if (p.qos > 0 || p.cmd !== 'publish') p.messageId = undefined
  return p
}

/** The queued packet for one subscriber: delivered at most at the QoS the subscription was granted
 *  (MQTT 3.1.1 §3.8.4: the delivered QoS is the minimum of the published QoS and the granted QoS). aedes
 *  downgrades live deliveries itself but sends a restored queue as stored, so the copy is downgraded here. */
export function queuedFor (sub: { qos?: number }, packet: BrokerPacket): BrokerPacket {
  const p = queuedPacket(packet)
  if (typeof sub.qos === 'number' && sub.qos > 0 && sub.qos < (p.qos ?? 0)) p.qos = sub.qos
  return p
}

/** An incoming QoS 2 packet, kept until PUBREL [MQTT-4.3.3-2]: the queued shape plus its packet identifier. */
export function incomingPacket (original: BrokerPacket): BrokerPacket {
  const p = queuedPacket(original)
  p.messageId = original.messageId
  return p
}

/** A retained PUBLISH with an empty payload removes the retained message [MQTT-3.3.1-10]. */
export function isRetainedDelete (packet: BrokerPacket): boolean {
  return packet.payload == null || packet.payload.length === 0
}
