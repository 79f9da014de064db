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

/**
 * Each client's session queue, in enqueue order (MQTT 3.1.1 §4.6: messages to a subscriber keep their order).
 * Entries are added once their write landed; concurrent enqueues can land out of order, so insertion keeps
 * the sequence order (almost always an append).
 */
export class OutgoingIndex {
  readonly #queues = new Map<string, OutgoingEntry[]>()

  add (clientId: string, entry: OutgoingEntry): void {
    let queue = this.#queues.get(clientId)
    if (queue === undefined) {
      queue = []
      this.#queues.set(clientId, queue)
    }
    let i = queue.length
    while (i > 0 && queue[i - 1].seq > entry.seq) i--
    queue.splice(i, 0, entry)
  }

  remove (clientId: string, entry: OutgoingEntry): void {
    const queue = this.#queues.get(clientId)
    if (queue === undefined) return
    const i = queue.indexOf(entry)
    if (i >= 0) queue.splice(i, 1)
    if (queue.length === 0) this.#queues.delete(clientId)
  }

  /** A snapshot of the client's queue: later changes do not affect a stream already started. */
  snapshot (clientId: string): OutgoingEntry[] {
    return [...(this.#queues.get(clientId) ?? [])]
  }

  /**
   * The entry `outgoingUpdate` targets, with the reference persistence's rules: a packet of the same broker is
   * the one with the same broker counter (packet ids wrap at 65535, the counter does not); a packet of another
   * broker (a PUBREL has none) replaces the entry with the same packet id.
   */
  findForUpdate (clientId: string, packet: BrokerPacket): { entry: OutgoingEntry; replace: boolean } | undefined {
    for (const entry of this.#queues.get(clientId) ?? []) {
      if (entry.brokerId === packet.brokerId) {
        if (entry.brokerCounter === packet.brokerCounter) return { entry, replace: false }
      } else if (entry.messageId === packet.messageId) {
        return { entry, replace: true }
      }
    }
    return undefined
  }

  findByMessageId (clientId: string, messageId: number | undefined): OutgoingEntry | undefined {
    return this.#queues.get(clientId)?.find((e) => e.messageId === messageId)
  }

  /** Forgets the client's whole queue; returns how many entries it had. */
  drop (clientId: string): number {
    const n = this.#queues.get(clientId)?.length ?? 0
    this.#queues.delete(clientId)
    return n
  }

  clients (): IterableIterator<string> { return this.#queues.keys() }

  maxSeq (): number {
    let max = 0
    for (const queue of this.#queues.values()) for (const e of queue) if (e.seq > max) max = e.seq
    return max
  }
}
