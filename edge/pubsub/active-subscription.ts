/**
 * A subscription at work: its persistent MQTT session and the delivery (single events or bulk batches)
 * behind it. Resumed when the app is up, paused (session closed, kept by the broker) when it is not.
 */
import type { Duplex } from 'node:stream'
import { RUNTIME_SESSION_PREFIX } from '../../core/bus.ts'
import type { Logger } from '../../core/logger.ts'
import { BulkDelivery } from './bulk-delivery.ts'
import { Delivery, type DeliveryDeps } from './delivery.ts'
import { MqttSession, type SessionMessage } from './session.ts'
import type { Subscription } from './subscription.ts'

/** The broker-side identity of a subscription's session: stable across restarts, so its queue survives them. */
export function sessionClientId (sub: Pick<Subscription, 'appId' | 'kind' | 'name'>): string {
  return `${RUNTIME_SESSION_PREFIX}${sub.appId}/${sub.kind === 'declarative' ? 'd' : 'p'}/${sub.name}`
}

export class ActiveSubscription {
  readonly sub: Subscription
  readonly #connect: () => Duplex
  readonly #delivery: Delivery
  readonly #log: Logger
  #session: MqttSession | undefined
  #abort = new AbortController()
  #bulk: BulkDelivery | undefined
  readonly #grpc: boolean

  constructor (sub: Subscription, connect: () => Duplex, deps: DeliveryDeps) {
    this.sub = sub
    this.#connect = connect
    this.#delivery = new Delivery(deps)
    this.#log = deps.log
    this.#grpc = deps.target.channel?.protocol === 'grpc'
  }

  get clientId (): string { return sessionClientId(this.sub) }
  get running (): boolean { return this.#session !== undefined && !this.#session.closed }

  /** Opens the session and starts delivering (what the broker queued first, then live messages). */
  async resume (): Promise<void> {
    if (this.running) return
    this.#abort = new AbortController()
    const signal = this.#abort.signal
    // Bulk delivery is HTTP's (`{entries}` bodies); a gRPC app gets the same events one OnTopicEvent each.
    const bulk = this.#grpc ? undefined : this.sub.bulk
    this.#bulk = bulk === undefined ? undefined : new BulkDelivery(this.#delivery, bulk, signal)
    const onMessage = (msg: SessionMessage): void => {
      if (this.#bulk !== undefined) this.#bulk.add(msg)
      else void this.#delivery.handle(msg, signal)
    }
    this.#session = await MqttSession.open({
      connect: this.#connect,
      clientId: this.clientId,
      filter: this.sub.topic,
      window: bulk?.maxMessagesCount ?? this.sub.delivery.concurrency,
      onMessage,
      log: this.#log,
    })
  }

  /** Creates the session in the broker (so messages queue from now on) without delivering yet. */
  async prime (): Promise<void> {
    if (this.running) return
    const s = await MqttSession.open({ connect: this.#connect, clientId: this.clientId, filter: this.sub.topic, window: 1, onMessage: () => {}, log: this.#log })
    await s.close()
  }

  /** Stops delivering; whatever is unacknowledged stays with the broker. Idempotent. */
  async pause (): Promise<void> {
    this.#abort.abort()
    this.#bulk?.close()
    this.#bulk = undefined
    const s = this.#session
    this.#session = undefined
    await s?.close()
  }
}
