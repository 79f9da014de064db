/**
 * Key layout of the broker persistence. Keys sort bytewise (UTF-8), so:
 * - a per-client key is `<escaped client id> NUL <rest>`. The escape removes every NUL from the id, so the first
 *   NUL ends it and one client's prefix never matches another's ('abc' vs 'abcd'). MQTT forbids U+0000 in
 *   client ids anyway [MQTT-1.5.3-2], but aedes does not enforce it, so we escape rather than trust.
 * - outgoing sequence numbers are fixed-width decimals, so key order is enqueue order.
 */

const SEP = '\u0000'
/** Enough digits for Number.MAX_SAFE_INTEGER (9007199254740991). */
const SEQ_WIDTH = 16
/** Packet identifiers are 16-bit [MQTT-2.3.1]. */
const MESSAGE_ID_WIDTH = 5

/** U+0001 escapes itself (01 02) and NUL (01 01): reversible and NUL-free. */
export function escapeClientId (id: string): string {
  return id.replace(/\u0001/g, '\u0001\u0002').replace(/\u0000/g, '\u0001\u0001')
}

export function unescapeClientId (escaped: string): string {
  return escaped.replace(/\u0001([\u0001\u0002])/g, (_m, c: string) => (c === '\u0001' ? '\u0000' : '\u0001'))
}

/** The prefix every key of one client starts with. */
export function clientPrefix (clientId: string): string {
  return escapeClientId(clientId) + SEP
}

export function subscriptionKey (clientId: string, topic: string): string {
  return clientPrefix(clientId) + topic
}

export function outgoingKey (clientId: string, seq: number): string {
  return clientPrefix(clientId) + String(seq).padStart(SEQ_WIDTH, '0')
}

export function incomingKey (clientId: string, messageId: number): string {
  return clientPrefix(clientId) + String(messageId).padStart(MESSAGE_ID_WIDTH, '0')
}

/** Splits a per-client key into the client id and the rest (topic, sequence, packet id). */
export function splitClientKey (key: string): { clientId: string; rest: string } {
  const at = key.indexOf(SEP)
  if (at < 0) throw new TypeError(`not a per-client key: ${JSON.stringify(key)}`)
  return { clientId: unescapeClientId(key.slice(0, at)), rest: key.slice(at + 1) }
}

/** Wide enough for any millisecond time stamp up to Number.MAX_SAFE_INTEGER, like SEQ_WIDTH. */
const TIME_WIDTH = 16

/** The offline-time index key: time first, so a range read up to a cutoff yields the longest-offline first. */
export function offlineTimeKey (since: number, clientId: string): string {
  return offlineTimePrefix(since) + clientPrefix(clientId)
}

/** Every index key of a time below `since` sorts below this (`lt` bound of a sweep). */
export function offlineTimePrefix (since: number): string {
  return String(Math.max(0, Math.floor(since))).padStart(TIME_WIDTH, '0')
}

export function splitOfflineTimeKey (key: string): { since: number; clientId: string } {
  const { clientId } = splitClientKey(key.slice(TIME_WIDTH))
  return { since: Number(key.slice(0, TIME_WIDTH)), clientId }
}
