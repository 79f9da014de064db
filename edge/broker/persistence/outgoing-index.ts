import type { BrokerPacket } from './types.ts'

/** What the index remembers of a queued packet: enough to find it, not its payload (that stays on disk). */
export interface OutgoingEntry {
  seq: number
  brokerId: string | null | undefined
  brokerCounter: number | undefined
  messageId: number | undefined
}

/** Broker ids seen, so every entry of one broker shares one string (each start of aedes has a new id). */
const brokerIds = new Map<string, string>()
const MAX_BROKER_IDS = 64

/**
 * A queued packet decoded from disk carries its own copy of the 36-character broker id: shared here, a queue of
 * 60 000 packets loaded at start-up holds one string instead of 60 000 (about 3.5 MB of heap).
 */
function intern (id: string | null | undefined): string | null | undefined {
  if (typeof id !== 'string') return id
  const known = brokerIds.get(id)
  if (known !== undefined) return known
  if (brokerIds.size >= MAX_BROKER_IDS) brokerIds.clear()
  brokerIds.set(id, id)
  return id
}

export function entryOf (seq: number, packet: BrokerPacket): OutgoingEntry {
  return { seq, brokerId: intern(packet.brokerId), brokerCounter: packet.brokerCounter, messageId: packet.messageId }
}

/** One client's queue and its lookups. */
interface ClientQueue {
  /** In sequence (enqueue) order. */
  list: OutgoingEntry[]
  /** broker id + broker counter → entry (entries whose broker id is a string). */
  byCounter: Map<string, OutgoingEntry>
  /** Two entries had the same broker id and counter: lookups by counter fall back to the scan for this queue. */
  ambiguous: boolean
  /** packet id → the entries holding it, in sequence order (a restored queue may repeat an old id). */
  byMessageId: Map<number, OutgoingEntry[]>
}

const counterKey = (brokerId: string, counter: number | undefined): string => `${brokerId}\u0000${String(counter)}`

/** Inserts keeping sequence order; entries almost always arrive in order, so this is almost always a push. */
function insertBySeq (list: OutgoingEntry[], entry: OutgoingEntry): void {
  let i = list.length
  while (i > 0 && list[i - 1].seq > entry.seq) i--
  if (i === list.length) list.push(entry)
  else list.splice(i, 0, entry)
}

function removeFrom (list: OutgoingEntry[], entry: OutgoingEntry): void {
  // Acknowledgements come in about queue order: the entry is nearly always at the head.
  const i = list[0] === entry ? 0 : list.indexOf(entry)
  if (i === 0) list.shift()
  else if (i > 0) list.splice(i, 1)
}

/** The reference rule, entry by entry in queue order (see `findForUpdate`). */
function scan (list: readonly OutgoingEntry[], packet: BrokerPacket): { entry: OutgoingEntry; replace: boolean } | undefined {
  for (const entry of list) {
    if (entry.brokerId === packet.brokerId) {
      if (entry.brokerCounter === packet.brokerCounter) return { entry, replace: false }
    } else if (entry.messageId === packet.messageId) {
      return { entry, replace: true }
    }
  }
  return undefined
}

/**
 * Each client's session queue, in enqueue order (MQTT 3.1.1 §4.6: messages to a subscriber keep their order).
 * Entries are added once their write landed; concurrent enqueues can land out of order, so insertion keeps
 * the sequence order (almost always an append). Lookups by broker counter and by packet id are maps, so a
 * delivery to a session with a long queue costs the same as to an empty one (the scan was O(queue length)
 * per delivered packet). An entry's packet id or identity changes only through `setMessageId` and `replace`,
 * which keep the maps in step.
 */
export class OutgoingIndex {
  readonly #queues = new Map<string, ClientQueue>()

  add (clientId: string, entry: OutgoingEntry): void {
    let q = this.#queues.get(clientId)
    if (q === undefined) {
      q = { list: [], byCounter: new Map(), ambiguous: false, byMessageId: new Map() }
      this.#queues.set(clientId, q)
    }
    insertBySeq(q.list, entry)
    this.#attach(q, entry)
  }

  remove (clientId: string, entry: OutgoingEntry): void {
    const q = this.#queues.get(clientId)
    if (q === undefined) return
    const before = q.list.length
    removeFrom(q.list, entry)
    if (q.list.length !== before) this.#detach(q, entry)
    if (q.list.length === 0) this.#queues.delete(clientId)
  }

  /** Records the packet id the broker gave a queued entry. */
  setMessageId (clientId: string, entry: OutgoingEntry, messageId: number | undefined): void {
    const q = this.#queues.get(clientId)
    if (q === undefined) { entry.messageId = messageId; return }
    this.#detachMessageId(q, entry)
    entry.messageId = messageId
    this.#attachMessageId(q, entry)
  }

  /** Makes the entry describe another packet (a PUBLISH became its PUBREL), keeping its place in the queue. */
  replace (clientId: string, entry: OutgoingEntry, next: OutgoingEntry): void {
    const q = this.#queues.get(clientId)
    if (q === undefined) { Object.assign(entry, next); return }
    this.#detach(q, entry)
    Object.assign(entry, next)
    this.#attach(q, entry)
  }

  /** A snapshot of the client's queue: later changes do not affect a stream already started. */
  snapshot (clientId: string): OutgoingEntry[] {
    return [...(this.#queues.get(clientId)?.list ?? [])]
  }

  /**
   * The entry `outgoingUpdate` targets, with the reference persistence's rules: a packet of the same broker is
   * the one with the same broker counter (packet ids wrap at 65535, the counter does not); a packet of another
   * broker (a PUBREL has none) replaces the entry with the same packet id. Where both kinds match, the one
   * first in the queue wins, as in the reference's scan.
   */
  findForUpdate (clientId: string, packet: BrokerPacket): { entry: OutgoingEntry; replace: boolean } | undefined {
    const q = this.#queues.get(clientId)
    if (q === undefined) return undefined
    const brokerId = packet.brokerId
    const messageId = packet.messageId
    if (q.ambiguous || typeof brokerId !== 'string' || typeof messageId !== 'number') return scan(q.list, packet)
    const same = q.byCounter.get(counterKey(brokerId, packet.brokerCounter))
    let other: OutgoingEntry | undefined
    const holding = q.byMessageId.get(messageId)
    if (holding !== undefined) for (const e of holding) if (e.brokerId !== brokerId) { other = e; break }
    if (other === undefined) return same === undefined ? undefined : { entry: same, replace: false }
    if (same !== undefined && same.seq < other.seq) return { entry: same, replace: false }
    return { entry: other, replace: true }
  }

  findByMessageId (clientId: string, messageId: number | undefined): OutgoingEntry | undefined {
    const q = this.#queues.get(clientId)
    if (q === undefined) return undefined
    if (typeof messageId !== 'number') return q.list.find((e) => e.messageId === messageId)
    return q.byMessageId.get(messageId)?.[0]
  }

  /** Forgets the client's whole queue; returns how many entries it had. */
  drop (clientId: string): number {
    const n = this.#queues.get(clientId)?.list.length ?? 0
    this.#queues.delete(clientId)
    return n
  }

  clients (): IterableIterator<string> { return this.#queues.keys() }

  maxSeq (): number {
    let max = 0
    for (const q of this.#queues.values()) for (const e of q.list) if (e.seq > max) max = e.seq
    return max
  }

  #attach (q: ClientQueue, entry: OutgoingEntry): void {
    if (typeof entry.brokerId === 'string') {
      const key = counterKey(entry.brokerId, entry.brokerCounter)
      if (q.byCounter.has(key)) q.ambiguous = true
      else q.byCounter.set(key, entry)
    }
    this.#attachMessageId(q, entry)
  }

  #detach (q: ClientQueue, entry: OutgoingEntry): void {
    if (typeof entry.brokerId === 'string') {
      const key = counterKey(entry.brokerId, entry.brokerCounter)
      if (q.byCounter.get(key) === entry) q.byCounter.delete(key)
    }
    this.#detachMessageId(q, entry)
  }

  #attachMessageId (q: ClientQueue, entry: OutgoingEntry): void {
    if (typeof entry.messageId !== 'number') return
    const holding = q.byMessageId.get(entry.messageId)
    if (holding === undefined) q.byMessageId.set(entry.messageId, [entry])
    else insertBySeq(holding, entry)
  }

  #detachMessageId (q: ClientQueue, entry: OutgoingEntry): void {
    if (typeof entry.messageId !== 'number') return
    const holding = q.byMessageId.get(entry.messageId)
    if (holding === undefined) return
    removeFrom(holding, entry)
    if (holding.length === 0) q.byMessageId.delete(entry.messageId)
  }
}
