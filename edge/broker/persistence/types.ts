import type { Readable } from 'node:stream'

/**
 * The shapes the aedes persistence interface passes around (aedes-persistence 11, async flavour: the one
 * `asyncPersistence.js` implements and `Aedes.createBroker({ persistence })` calls). aedes' own typings describe
 * the older callback API, so the async contract is written down here.
 */

/** An MQTT packet as aedes hands it over (an aedes-packet `Packet`, a PUBREL, a will). Extra fields survive. */
export interface BrokerPacket {
  cmd?: string
  topic?: string
  payload?: Buffer | Uint8Array | string
  qos?: number
  retain?: boolean
  dup?: boolean
  messageId?: number
  brokerId?: string | null
  brokerCounter?: number
  clientId?: string
  [field: string]: unknown
}

/** The part of an aedes `Client` the persistence reads. */
export interface ClientRef { id: string }

/** The part of the aedes broker the persistence reads (its id stamps wills). */
export interface BrokerRef { id: string }

/** A subscription as SUBSCRIBE carries it (MQTT 3.1.1 §3.8.3; rh/rap/nl are MQTT 5 options). */
export interface SubscriptionIn {
  topic: string
  qos: number
  rh?: number
  rap?: boolean
  nl?: boolean
  /** MQTT 5 Subscription Identifier, restored with the session. */
  subscriptionIdentifier?: number
}

/** What a client's stored subscription records (everything but the topic, which is its key). */
export type SubscriptionRecord = Omit<SubscriptionIn, 'topic'>

/** A subscription found by topic, as aedes enqueues for it. */
export interface TopicSubscription { clientId: string; topic: string; qos?: number; rh?: number; rap?: boolean; nl?: boolean }

/** The async persistence interface aedes 1.x calls. */
export interface AedesAsyncPersistence {
  setup (broker: BrokerRef): Promise<void>
  storeRetained (packet: BrokerPacket): Promise<void>
  createRetainedStream (pattern: string): Readable
  createRetainedStreamCombi (patterns: string[]): Readable
  addSubscriptions (client: ClientRef, subs: SubscriptionIn[]): Promise<void>
  removeSubscriptions (client: ClientRef, topics: string[]): Promise<void>
  subscriptionsByClient (client: ClientRef): Promise<SubscriptionIn[]>
  countOffline (): Promise<{ subsCount: number; clientsCount: number }>
  subscriptionsByTopic (topic: string): Promise<TopicSubscription[]>
  cleanSubscriptions (client: ClientRef): Promise<void>
  outgoingEnqueue (sub: { clientId: string; qos?: number }, packet: BrokerPacket): Promise<void>
  outgoingEnqueueCombi (subs: Array<{ clientId: string; qos?: number }>, packet: BrokerPacket): Promise<void>
  outgoingUpdate (client: ClientRef, packet: BrokerPacket): Promise<void>
  outgoingClearMessageId (client: ClientRef, packet: BrokerPacket): Promise<BrokerPacket | undefined>
  outgoingStream (client: ClientRef): Readable
  incomingStorePacket (client: ClientRef, packet: BrokerPacket): Promise<void>
  incomingGetPacket (client: ClientRef, packet: { messageId?: number }): Promise<BrokerPacket>
  incomingDelPacket (client: ClientRef, packet: { messageId?: number }): Promise<void>
  cleanIncoming (client: ClientRef): Promise<void>
  putWill (client: ClientRef, packet: BrokerPacket): Promise<void>
  getWill (client: ClientRef): Promise<BrokerPacket | undefined>
  delWill (client: ClientRef): Promise<BrokerPacket | undefined>
  streamWill (brokers?: Record<string, number>): Readable
  getClientList (topic: string): Readable
  destroy (): Promise<void>
}

/** What dropping one expired session removed. */
export interface DroppedSession { subscriptions: number; queued: number }

/**
 * The session-expiry side of a persistence (LevelPersistence): when each persistent session's client went
 * offline, kept beside the session so it survives restarts, and a way to drop a whole session.
 */
export interface SessionExpiryStore {
  readonly offlineCount: number
  offlineSince (clientId: string): number | undefined
  markOffline (clientId: string, at: number): Promise<void>
  markOnline (clientId: string): Promise<void>
  /** Up to `limit` sessions offline since before `cutoff`, longest offline first. */
  offlineBefore (cutoff: number, limit: number): Promise<Array<{ clientId: string; since: number }>>
  sessionsWithoutRecord (): Promise<string[]>
  dropSession (clientId: string): Promise<DroppedSession>
}
