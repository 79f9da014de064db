import type { Metrics } from '../../core/metrics.ts'

/** What became of one event delivered to an app. */
export type DeliveryOutcome = 'success' | 'drop' | 'deadletter' | 'expired'

/**
 * Pub/sub counters on the runtime's registry: publishes through the API, and every delivery outcome per
 * app and subscription (drops and dead-letters are counted, never silent).
 */
export class PubsubMetrics {
  readonly #published
  readonly #delivered
  readonly #retries
  readonly counts = { published: 0, success: 0, drop: 0, deadletter: 0, expired: 0, retries: 0 }
  readonly #per = new Map<string, Record<DeliveryOutcome | 'retries', number>>()

  constructor (metrics?: Metrics) {
    this.#published = metrics?.counter({ name: 'mecha_pubsub_published_total', help: 'publishes through the Dapr API', labelNames: ['pubsub', 'result'] as const })
    this.#delivered = metrics?.counter({ name: 'mecha_pubsub_delivered_total', help: 'events delivered to apps, by outcome', labelNames: ['app', 'subscription', 'outcome'] as const })
    this.#retries = metrics?.counter({ name: 'mecha_pubsub_delivery_retries_total', help: 'delivery attempts that are retried', labelNames: ['app', 'subscription'] as const })
  }

  published (pubsub: string, result: 'success' | 'failure'): void {
    if (result === 'success') this.counts.published++
    this.#published?.inc({ pubsub, result })
  }

  /** One subscription's outcomes (for `/v1.0/metadata`, the UI and tests). */
  of (app: string, subscription: string): Readonly<Record<DeliveryOutcome | 'retries', number>> {
    return this.#entry(app, subscription)
  }

  #entry (app: string, subscription: string): Record<DeliveryOutcome | 'retries', number> {
    const key = `${app}\u0000${subscription}`
    let e = this.#per.get(key)
    if (e === undefined) { e = { success: 0, drop: 0, deadletter: 0, expired: 0, retries: 0 }; this.#per.set(key, e) }
    return e
  }

  delivered (app: string, subscription: string, outcome: DeliveryOutcome, n = 1): void {
    this.counts[outcome] += n
    this.#entry(app, subscription)[outcome] += n
    this.#delivered?.inc({ app, subscription, outcome }, n)
  }

  retried (app: string, subscription: string): void {
    this.counts.retries++
    this.#entry(app, subscription).retries++
    this.#retries?.inc({ app, subscription })
  }
}
