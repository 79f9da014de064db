import { Readable } from 'node:stream'
import qlobber from 'qlobber'
import type { Namespace } from '../../../core/store/index.ts'
import { MechaError } from '../../../core/errors.ts'
import { KeyedMutex } from '../../../core/keyed-mutex.ts'
import { OfflineSessions, type OfflineSession } from './offline-sessions.ts'
import { clientPrefix, incomingKey, outgoingKey, splitClientKey, subscriptionKey } from './keys.ts'
import { OutgoingIndex, entryOf } from './outgoing-index.ts'
import { incomingPacket, isRetainedDelete, queuedFor, storable } from './packet-codec.ts'
import { SubscriptionIndex, TOPIC_OPTIONS } from './subscription-index.ts'
import type { AedesAsyncPersistence, BrokerPacket, BrokerRef, ClientRef, DroppedSession, SessionExpiryStore, SubscriptionIn, SubscriptionRecord, TopicSubscription } from './types.ts'

const { QlobberTrue } = qlobber
const noop = (): void => {}
/** Values fetched per LevelDB round trip while streaming. */
const READ_CHUNK = 64
/** Keys deleted per batch when a session is dropped: a queue of a million packets never becomes one batch. */
const DELETE_CHUNK = 1000

/**
 * The aedes persistence (aedes-persistence 11, async interface) on the runtime's LevelDB store, so sessions
 * survive `kill -9`: retained messages, subscriptions of persistent sessions, their queued QoS 1/2 packets
 * (in order, with the packet ids assigned), incoming QoS 2 packets awaiting PUBREL, and wills.
 *
 * Every change is written before its promise resolves. What aedes looks up on every publish lives in memory
 * as well, loaded by `create()`: the subscription trie, the retained topics and each session queue's index
 * (packet ids, not payloads). Incoming packets and wills are read from disk when asked for.
 *
 * Layout, one child namespace each: `retained` (topic → packet), `subs` (client NUL topic → options),
 * `outgoing` (client NUL 16-digit sequence → packet), `incoming` (client NUL 5-digit packet id → packet),
 * `wills` (client NUL → packet); see keys.ts. `offline` and `offline-at` hold when each persistent session's
 * client went offline, for session expiry (offline-sessions.ts).
 */
export class LevelPersistence implements AedesAsyncPersistence, SessionExpiryStore {
  readonly #retained: Namespace<BrokerPacket>
  readonly #subs: Namespace<SubscriptionRecord>
  readonly #outgoing: Namespace<BrokerPacket>
  readonly #incoming: Namespace<BrokerPacket>
  readonly #wills: Namespace<BrokerPacket>
  readonly #retainedTopics = new Set<string>()
  readonly #subIndex = new SubscriptionIndex()
  readonly #outIndex = new OutgoingIndex()
  readonly #offline: OfflineSessions
  readonly #serial = new KeyedMutex()
  readonly #pending = new Set<Promise<unknown>>()
  /** Per client, the last outgoingUpdate not yet resolved (see outgoingUpdate). */
  readonly #updates = new Map<string, Promise<void>>()
  /** The last outgoing sequence number handed out; one counter for all clients keeps each queue ordered. */
  #seq = 0
  #broker: BrokerRef | undefined
  #destroyed = false

  private constructor (ns: Namespace) {
    this.#retained = ns.namespace<BrokerPacket>('retained')
    this.#subs = ns.namespace<SubscriptionRecord>('subs')
    this.#outgoing = ns.namespace<BrokerPacket>('outgoing')
    this.#incoming = ns.namespace<BrokerPacket>('incoming')
    this.#wills = ns.namespace<BrokerPacket>('wills')
    this.#offline = new OfflineSessions(ns)
  }

  /** Opens the persistence over `ns` (e.g. `store.namespace('broker')`) and loads its in-memory indexes. */
  static async create (ns: Namespace): Promise<LevelPersistence> {
    const persistence = new LevelPersistence(ns)
    await persistence.#load()
    return persistence
  }

  async #load (): Promise<void> {
    for await (const topic of this.#retained.keys()) this.#retainedTopics.add(topic)
    for await (const [key, record] of this.#subs.entries()) {
      const { clientId, rest } = splitClientKey(key)
      this.#subIndex.set(clientId, rest, record)
    }
    for await (const [key, packet] of this.#outgoing.entries()) {
      const { clientId, rest } = splitClientKey(key)
      const seq = Number(rest)
      this.#outIndex.add(clientId, entryOf(seq, packet))
      if (seq > this.#seq) this.#seq = seq
    }
    await this.#offline.load()
  }

  /** The broker given to `setup()` (the shared test suite reads it). */
  get broker (): BrokerRef | undefined { return this.#broker }

  // aedes checks that setup is an AsyncFunction before it calls it.
  async setup (broker: BrokerRef): Promise<void> {
    this.#broker = broker
  }

  // --- retained messages

  async storeRetained (packet: BrokerPacket): Promise<void> {
    this.#assertLive()
    const topic = packet.topic
    if (typeof topic !== 'string') throw new TypeError('retained packet has no topic')
    // Copied now: the caller may reuse the packet object once this returns.
    const value = isRetainedDelete(packet) ? undefined : storable(packet)
    await this.#track(this.#serial.run([`r:${topic}`], async () => {
      if (value === undefined) {
        await this.#retained.del(topic)
        this.#retainedTopics.delete(topic)
      } else {
        await this.#retained.put(topic, value)
        this.#retainedTopics.add(topic)
      }
    }))
  }

  createRetainedStream (pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern])
  }

  /** Retained messages per pattern, in pattern order (one SUBSCRIBE's filters each get theirs [MQTT-3.3.1-6]). */
  createRetainedStreamCombi (patterns: string[]): Readable {
    this.#assertLive()
    const topics: string[] = []
    for (const pattern of patterns) {
      const matcher = new QlobberTrue(TOPIC_OPTIONS).add(pattern)
      for (const topic of this.#retainedTopics) if (matcher.test(topic)) topics.push(topic)
    }
    return Readable.from(readValues(this.#retained, topics))
  }

  // --- subscriptions

  async addSubscriptions (client: ClientRef, subs: SubscriptionIn[]): Promise<void> {
    this.#assertLive()
    const id = client.id
    const net = SubscriptionIndex.net(subs)
    if (net.size === 0) return
    await this.#track(this.#serial.run([`s:${id}`], async () => {
      await this.#subs.batch([...net].map(([topic, value]) => ({ type: 'put' as const, key: subscriptionKey(id, topic), value })))
      for (const [topic, record] of net) this.#subIndex.set(id, topic, record)
    }))
  }

  async removeSubscriptions (client: ClientRef, topics: string[]): Promise<void> {
    this.#assertLive()
    const id = client.id
    await this.#track(this.#serial.run([`s:${id}`], () => this.#deleteSubscriptions(id, topics)))
  }

  async cleanSubscriptions (client: ClientRef): Promise<void> {
    this.#assertLive()
    const id = client.id
    await this.#track(this.#serial.run([`s:${id}`], () => this.#deleteSubscriptions(id, this.#subIndex.topicsOf(id))))
  }

  async #deleteSubscriptions (id: string, topics: readonly string[]): Promise<void> {
    const present = [...new Set(topics)].filter((t) => this.#subIndex.has(id, t))
    if (present.length === 0) return
    await this.#subs.batch(present.map((t) => ({ type: 'del' as const, key: subscriptionKey(id, t) })))
    for (const t of present) this.#subIndex.delete(id, t)
  }

  async subscriptionsByClient (client: ClientRef): Promise<SubscriptionIn[]> {
    return this.#subIndex.byClient(client.id)
  }

  async subscriptionsByTopic (topic: string): Promise<TopicSubscription[]> {
    return this.#subIndex.byTopic(topic)
  }

  async countOffline (): Promise<{ subsCount: number; clientsCount: number }> {
    return this.#subIndex.count()
  }

  getClientList (topic: string): Readable {
    return Readable.from([...this.#subIndex.clientsWith(topic)])
  }

  // --- session queues (outgoing QoS 1/2)

  async outgoingEnqueue (sub: { clientId: string; qos?: number }, packet: BrokerPacket): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet)
  }

  /** One atomic write for every subscriber. A client matched by several of its filters gets one copy at the
   *  highest of their QoS, which [MQTT-3.3.5-1] requires (further copies are only allowed). */
  async outgoingEnqueueCombi (subs: Array<{ clientId: string; qos?: number }>, packet: BrokerPacket): Promise<void> {
    this.#assertLive()
    const perClient = new Map<string, { clientId: string; qos?: number }>()
    for (const sub of subs) {
      const seen = perClient.get(sub.clientId)
      if (seen === undefined || (sub.qos ?? 0) > (seen.qos ?? 0)) perClient.set(sub.clientId, sub)
    }
    if (perClient.size === 0) return
    const items = [...perClient.values()].map((sub) => ({ clientId: sub.clientId, seq: ++this.#seq, packet: queuedFor(sub, packet) }))
    await this.#track(this.#outgoing.batch(items.map((i) => ({ type: 'put' as const, key: outgoingKey(i.clientId, i.seq), value: i.packet }))))
    for (const i of items) this.#outIndex.add(i.clientId, entryOf(i.seq, i.packet))
  }

  /**
   * Records the packet id the broker gave a queued packet, or replaces the packet (a PUBLISH becomes its PUBREL
   * once PUBREC arrived [MQTT-4.3.3-1]). The index changes at once, as in the reference persistence, so a PUBACK
   * racing this write still finds the packet; the writes to one queued packet are serialised.
   */
  outgoingUpdate (client: ClientRef, packet: BrokerPacket): Promise<void> {
    // aedes writes a packet to a persistent client once this resolves: the updates of one client resolve in
    // the order they were asked for, or two packets would be written in the order their disk writes
    // finished [MQTT-4.6.0-6]. The writes themselves still overlap.
    return this.#inClientOrder(client.id, this.#outgoingUpdate(client, packet))
  }

  #inClientOrder (id: string, work: Promise<void>): Promise<void> {
    const prev = this.#updates.get(id)
    if (prev !== undefined) work.catch(noop) // handled here: it rejects `done` once `prev` resolved
    const done = prev === undefined ? work : prev.then(() => work)
    const tail = done.then(noop, noop)
    this.#updates.set(id, tail)
    void tail.then(() => { if (this.#updates.get(id) === tail) this.#updates.delete(id) })
    return done
  }

  async #outgoingUpdate (client: ClientRef, packet: BrokerPacket): Promise<void> {
    this.#assertLive()
    const id = client.id
    const found = this.#outIndex.findForUpdate(id, packet)
    if (found === undefined) {
      throw new MechaError('MECHA_ERR_MQTT_UNKNOWN_PACKET', `no queued packet of client ${id} matches packet id ${String(packet.messageId)}`)
    }
    const key = outgoingKey(id, found.entry.seq)
    if (found.replace) {
      const value = storable(packet)
      this.#outIndex.replace(id, found.entry, entryOf(found.entry.seq, value))
      await this.#track(this.#serial.run([`o:${key}`], () => this.#outgoing.put(key, value)))
      return
    }
    const messageId = packet.messageId
    this.#outIndex.setMessageId(id, found.entry, messageId)
    await this.#track(this.#serial.run([`o:${key}`], async () => {
      const stored = await this.#outgoing.get(key)
      if (stored === undefined) return // acknowledged and cleared meanwhile
      stored.messageId = messageId
      await this.#outgoing.put(key, stored)
    }))
  }

  /** True while a queued packet has not been sent yet (no packet id given): a replay after reconnect sends it
   *  otherwise. The broker asks, so a live delivery held back during the replay is not sent twice. */
  awaitingDelivery (clientId: string, packet: BrokerPacket): boolean {
    const found = this.#outIndex.findForUpdate(clientId, packet)
    return found !== undefined && !found.replace && found.entry.messageId === undefined
  }

  /** Removes the queued packet with this packet id (its PUBACK or PUBCOMP arrived) and returns it. */
  async outgoingClearMessageId (client: ClientRef, packet: BrokerPacket): Promise<BrokerPacket | undefined> {
    this.#assertLive()
    if (packet === null || typeof packet !== 'object') return undefined
    const id = client.id
    const entry = this.#outIndex.findByMessageId(id, packet.messageId)
    if (entry === undefined) return undefined
    this.#outIndex.remove(id, entry)
    const key = outgoingKey(id, entry.seq)
    return await this.#track(this.#serial.run([`o:${key}`], async () => {
      const stored = await this.#outgoing.get(key)
      await this.#outgoing.del(key)
      return stored
    }))
  }

  /** The client's queue as it is now, in enqueue order; packets cleared while streaming are skipped. */
  outgoingStream (client: ClientRef): Readable {
    this.#assertLive()
    const keys = this.#outIndex.snapshot(client.id).map((e) => outgoingKey(client.id, e.seq))
    return Readable.from(readValues(this.#outgoing, keys))
  }

  // --- incoming QoS 2 packets, kept from PUBLISH to PUBREL [MQTT-4.3.3-2]

  async incomingStorePacket (client: ClientRef, packet: BrokerPacket): Promise<void> {
    this.#assertLive()
    const id = client.id
    const key = incomingKey(id, checkMessageId(packet.messageId))
    const value = incomingPacket(packet)
    await this.#track(this.#serial.run([`i:${id}`], () => this.#incoming.put(key, value)))
  }

  async incomingGetPacket (client: ClientRef, packet: { messageId?: number }): Promise<BrokerPacket> {
    this.#assertLive()
    const id = client.id
    const key = incomingKey(id, checkMessageId(packet.messageId))
    const stored = await this.#track(this.#serial.run([`i:${id}`], () => this.#incoming.get(key)))
    if (stored === undefined) throw unknownIncoming(id, packet.messageId)
    return stored
  }

  async incomingDelPacket (client: ClientRef, packet: { messageId?: number }): Promise<void> {
    this.#assertLive()
    const id = client.id
    const key = incomingKey(id, checkMessageId(packet.messageId))
    await this.#track(this.#serial.run([`i:${id}`], async () => {
      if (await this.#incoming.get(key) === undefined) throw unknownIncoming(id, packet.messageId)
      await this.#incoming.del(key)
    }))
  }

  /** A clean session ends with its QoS 2 state [MQTT-3.1.2-6]. The trailing NUL keeps `abc` from `abcd`. */
  async cleanIncoming (client: ClientRef): Promise<void> {
    this.#assertLive()
    const id = client.id
    await this.#track(this.#serial.run([`i:${id}`], () => this.#incoming.clear({ prefix: clientPrefix(id) })))
  }

  // --- wills

  /** Stamps the will with this broker and the client, as the reference does (`streamWill` filters by broker). */
  async putWill (client: ClientRef, packet: BrokerPacket): Promise<void> {
    this.#assertLive()
    if (this.#broker === undefined) throw new TypeError('putWill before setup(broker)')
    packet.brokerId = this.#broker.id
    packet.clientId = client.id
    const value = storable(packet)
    await this.#track(this.#serial.run([`w:${client.id}`], () => this.#wills.put(clientPrefix(client.id), value)))
  }

  async getWill (client: ClientRef): Promise<BrokerPacket | undefined> {
    this.#assertLive()
    return await this.#track(this.#serial.run([`w:${client.id}`], () => this.#wills.get(clientPrefix(client.id))))
  }

  async delWill (client: ClientRef): Promise<BrokerPacket | undefined> {
    this.#assertLive()
    const key = clientPrefix(client.id)
    return await this.#track(this.#serial.run([`w:${client.id}`], async () => {
      const will = await this.#wills.get(key)
      if (will !== undefined) await this.#wills.del(key)
      return will
    }))
  }

  /** Wills of clients whose broker is not in `brokers` (alive brokers), for aedes to publish. */
  streamWill (brokers: Record<string, number> = {}): Readable {
    this.#assertLive()
    const wills = this.#wills
    return Readable.from((async function * () {
      for await (const [, will] of wills.entries()) {
        if (!brokers[String(will.brokerId)]) yield will
      }
    })())
  }

  // --- session expiry (MQTT 3.1.1 has none; the broker applies `mqtt.sessionExpirySeconds` through these)

  get offlineCount (): number { return this.#offline.size }

  offlineSince (clientId: string): number | undefined { return this.#offline.since(clientId) }

  async markOffline (clientId: string, at: number): Promise<void> {
    this.#assertLive()
    await this.#track(this.#offline.mark(clientId, at))
  }

  async markOnline (clientId: string): Promise<void> {
    this.#assertLive()
    await this.#track(this.#offline.clear(clientId))
  }

  async offlineBefore (cutoff: number, limit: number): Promise<OfflineSession[]> {
    this.#assertLive()
    return await this.#offline.before(cutoff, limit)
  }

  /**
   * Clients that hold session state (subscriptions, queued packets, QoS 2 state) but no offline record: those
   * connected when the process last died, or stored before session expiry existed. Read once at start-up.
   */
  async sessionsWithoutRecord (): Promise<string[]> {
    this.#assertLive()
    const ids = new Set<string>([...this.#subIndex.clients(), ...this.#outIndex.clients()])
    let last: string | undefined
    for await (const key of this.#incoming.keys()) {
      const { clientId } = splitClientKey(key)
      if (clientId !== last) ids.add(clientId)
      last = clientId
    }
    return [...ids].filter((id) => this.#offline.since(id) === undefined)
  }

  /**
   * Removes everything of one session: subscriptions, queued packets, QoS 2 state, will, offline record. The
   * caller (the broker) makes sure the client is not connecting meanwhile. The record goes last, so a crash
   * half-way leaves it, and the next sweep finishes the job.
   */
  async dropSession (clientId: string): Promise<DroppedSession> {
    this.#assertLive()
    const id = clientId
    // From here on no publish matches the session. The mirror holding less than the disk is safe: a failed
    // delete below leaves the record, and a restart reloads the subscriptions for the next sweep to retry.
    const topics = this.#subIndex.topicsOf(id)
    for (const t of topics) this.#subIndex.delete(id, t)
    // A publish that matched before may still be between subscriptionsByTopic and outgoingEnqueueCombi (aedes
    // chains them with microtasks only): one macrotask later its write is tracked, so wait for those writes.
    await new Promise((resolve) => setImmediate(resolve))
    await Promise.allSettled([...this.#pending])
    return await this.#track(this.#serial.run([`s:${id}`, `i:${id}`, `w:${id}`], async () => {
      const prefix = clientPrefix(id)
      await deleteInChunks(this.#subs, topics.map((t) => subscriptionKey(id, t)))
      // The disk, not the index, says what is queued: an enqueue whose index update is still pending is caught.
      const queued = await keysOf(this.#outgoing, prefix)
      await deleteInChunks(this.#outgoing, queued)
      this.#outIndex.drop(id)
      await deleteInChunks(this.#incoming, await keysOf(this.#incoming, prefix))
      // [MQTT-3.1.2-8] a will belongs to a network connection; this session's ended long ago, so it is dropped
      // unpublished (aedes publishes the will of a connection that ends abnormally, at that time).
      await this.#wills.del(prefix)
      await this.#offline.clear(id)
      return { subscriptions: topics.length, queued: queued.length }
    }))
  }

  // --- lifecycle

  /** Waits for pending writes; the store stays open (its owner closes it). Idempotent. */
  async destroy (): Promise<void> {
    this.#destroyed = true
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
  }

  /** Same as `destroy()`, under the name the rest of the runtime uses. */
  async close (): Promise<void> {
    await this.destroy()
  }

  #assertLive (): void {
    if (this.#destroyed) throw new MechaError('MECHA_ERR_STORE_CLOSED', 'the broker persistence is destroyed')
  }

  #track<T> (work: Promise<T>): Promise<T> {
    this.#pending.add(work)
    const forget = (): void => { this.#pending.delete(work) }
    work.then(forget, forget)
    return work
  }
}

async function keysOf (ns: Namespace<unknown>, prefix: string): Promise<string[]> {
  const out: string[] = []
  for await (const key of ns.keys({ prefix })) out.push(key)
  return out
}

async function deleteInChunks (ns: Namespace<unknown>, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
    await ns.batch(keys.slice(i, i + DELETE_CHUNK).map((key) => ({ type: 'del' as const, key })))
  }
}

/** Values of `keys` in order, a chunk per read; keys deleted since the snapshot are skipped. */
async function * readValues<V> (ns: Namespace<V>, keys: readonly string[]): AsyncGenerator<V> {
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    const values = await ns.getMany(keys.slice(i, i + READ_CHUNK))
    for (const v of values) if (v !== undefined) yield v
  }
}

function checkMessageId (messageId: unknown): number {
  // [MQTT-2.3.1-1] packet identifiers are 16-bit
  if (typeof messageId !== 'number' || !Number.isInteger(messageId) || messageId < 0 || messageId > 0xffff) {
    throw new TypeError(`invalid packet identifier: ${String(messageId)}`)
  }
  return messageId
}

function unknownIncoming (clientId: string, messageId: unknown): MechaError {
  return new MechaError('MECHA_ERR_MQTT_UNKNOWN_PACKET', `no incoming packet ${String(messageId)} of client ${clientId}`)
}
