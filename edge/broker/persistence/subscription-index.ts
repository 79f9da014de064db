import QlobberSub from 'qlobber/aedes/qlobber-sub.js'
import type { SubscriptionIn, SubscriptionRecord, TopicSubscription } from './types.ts'

/** MQTT topic syntax (MQTT 3.1.1 §4.7): `/` separates levels, `+` matches one, `#` the rest. */
export const TOPIC_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' } as const

/**
 * The in-memory mirror of every stored subscription: per client (to restore a session) and as a topic trie
 * (to find who gets a publish). Only QoS > 0 subscriptions enter the trie: QoS 0 messages are never queued
 * for an offline client, so QoS 0 subscriptions are restored but not matched (as aedes-persistence does).
 * The caller writes to the store first and applies here after, so the mirror never holds what the disk lacks.
 */
export class SubscriptionIndex {
  readonly #byClient = new Map<string, Map<string, SubscriptionRecord>>()
  readonly #trie = new QlobberSub(TOPIC_OPTIONS)

  /** The record a subscription is stored as: no undefined fields. */
  static record (sub: SubscriptionIn): SubscriptionRecord {
    const r: SubscriptionRecord = { qos: sub.qos }
    if (sub.rh !== undefined) r.rh = sub.rh
    if (sub.rap !== undefined) r.rap = sub.rap
    if (sub.nl !== undefined) r.nl = sub.nl
    // MQTT 5 Subscription Identifier: restored with the session, never matched on
    if (sub.subscriptionIdentifier !== undefined) r.subscriptionIdentifier = sub.subscriptionIdentifier
    return r
  }

  /** One SUBSCRIBE's net effect per topic: a later filter replaces an earlier one [MQTT-3.8.4-3]. */
  static net (subs: readonly SubscriptionIn[]): Map<string, SubscriptionRecord> {
    const out = new Map<string, SubscriptionRecord>()
    for (const sub of subs) out.set(sub.topic, SubscriptionIndex.record(sub))
    return out
  }

  has (clientId: string, topic: string): boolean {
    return this.#byClient.get(clientId)?.has(topic) ?? false
  }

  topicsOf (clientId: string): string[] {
    return [...(this.#byClient.get(clientId)?.keys() ?? [])]
  }

  set (clientId: string, topic: string, record: SubscriptionRecord): void {
    let stored = this.#byClient.get(clientId)
    if (stored === undefined) {
      stored = new Map()
      this.#byClient.set(clientId, stored)
    }
    const before = stored.get(topic)
    if (record.qos > 0) {
      this.#trie.add(topic, { clientId, topic, qos: record.qos, rh: record.rh, rap: record.rap, nl: record.nl })
    } else if (before !== undefined && before.qos > 0) {
      this.#trie.remove(topic, { clientId, topic })
    }
    stored.set(topic, record)
  }

  delete (clientId: string, topic: string): void {
    const stored = this.#byClient.get(clientId)
    const before = stored?.get(topic)
    if (stored === undefined || before === undefined) return
    if (before.qos > 0) this.#trie.remove(topic, { clientId, topic })
    stored.delete(topic)
    if (stored.size === 0) this.#byClient.delete(clientId)
  }

  byClient (clientId: string): SubscriptionIn[] {
    const stored = this.#byClient.get(clientId)
    if (stored === undefined) return []
    return [...stored].map(([topic, record]) => ({ topic, ...record }))
  }

  byTopic (topic: string): TopicSubscription[] {
    return this.#trie.match(topic)
  }

  /** Clients holding a subscription with exactly this topic filter, any QoS. */
  * clientsWith (topic: string): Generator<string> {
    for (const [clientId, stored] of this.#byClient) if (stored.has(topic)) yield clientId
  }

  clients (): IterableIterator<string> { return this.#byClient.keys() }

  count (): { subsCount: number; clientsCount: number } {
    return { subsCount: this.#trie.subscriptionsCount, clientsCount: this.#byClient.size }
  }
}
