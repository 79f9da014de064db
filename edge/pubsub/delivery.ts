/**
 * Delivery of one subscription's messages to its app: one event at a time (per-topic order) or `concurrency`
 * at once, each `POST {route}` with the CloudEvent, retried with exponential backoff and jitter until the
 * app takes it, drops it (DROP, 404), or the retry budget runs out (then the dead-letter topic, if any, else
 * a counted drop). When the app cannot be reached at all, the event is left unacknowledged and the owner is
 * told, so it can pause the app's sessions: the broker keeps everything until the app is back.
 */
import type { Clock } from '../../core/clock.ts'
import type { LocalBus } from '../../core/bus.ts'
import type { Logger } from '../../core/logger.ts'
import type { AppChannel } from '../invoke/app-channel.ts'
import { HttpAppChannel } from '../invoke/http-channel.ts'
import { eventFromPayload, isExpired, type CloudEvent } from './cloudevent.ts'
import { deadLetter, sleep } from './dead-letter.ts'
import type { PubsubMetrics } from './metrics.ts'
import { mayRetry, retryDelay } from './retry-policy.ts'
import type { Router } from './router.ts'
import type { SessionMessage } from './session.ts'
import type { Subscription } from './subscription.ts'

/** `channel`: how the app is called (HTTP `POST {route}`, or gRPC OnTopicEvent); HTTP to host:port when absent. */
export interface AppTarget { appId: string; host: string; port: number; channel?: AppChannel }

export interface DeliveryDeps {
  sub: Subscription
  router: Router
  target: AppTarget
  bus: LocalBus
  clock: Clock
  metrics: PubsubMetrics
  log: Logger
  /** The app refused the connection: pause its sessions and wait for it. */
  onUnreachable: (why: string) => void
  random?: () => number
}

/** What to do with an event after its attempts: settle it (acknowledge) or leave it to the broker. */
export type Finish = 'settle' | 'abandon'

export class Delivery {
  readonly #d: DeliveryDeps
  readonly #label: { app: string; subscription: string }
  readonly #channel: AppChannel

  constructor (deps: DeliveryDeps) {
    this.#d = deps
    this.#channel = deps.target.channel ?? new HttpAppChannel(deps.target)
    this.#label = { app: deps.target.appId, subscription: deps.sub.name }
  }

  get deps (): DeliveryDeps { return this.#d }

  /** The CloudEvent for an MQTT message on this subscription. */
  event (msg: { topic: string; payload: Buffer }): CloudEvent {
    return eventFromPayload(msg.payload, { topic: msg.topic, pubsubname: this.#d.sub.pubsubname, rawPayload: this.#d.sub.rawPayload, now: this.#d.clock.now() })
  }

  /** Handles one message from the session; settles it unless the app is unreachable or the session closed. */
  async handle (msg: SessionMessage, signal: AbortSignal): Promise<void> {
    let finish: Finish = 'abandon'
    try {
      finish = await this.deliver(this.event(msg), signal)
    } catch (err) {
      this.#d.log.error({ err, topic: msg.topic }, 'delivery failed unexpectedly; the event stays queued')
    }
    if (finish === 'settle') msg.settle()
  }

  /** Runs the attempts for one event. */
  async deliver (ce: CloudEvent, signal: AbortSignal): Promise<Finish> {
    const { sub, router, clock, metrics, log } = this.#d
    if (isExpired(ce, clock.now())) {
      metrics.delivered(this.#label.app, this.#label.subscription, 'expired')
      log.debug({ id: ce.id, topic: ce.topic }, 'event expired before delivery; not delivered')
      return 'settle'
    }
    const path = router.route(ce)
    if (path === undefined) {
      metrics.delivered(this.#label.app, this.#label.subscription, 'drop')
      log.warn({ id: ce.id, topic: ce.topic, subscription: sub.name }, 'no route matches the event; dropped')
      return 'settle'
    }
    for (let retries = 0; ; retries++) {
      if (signal.aborted) return 'abandon'
      const { verdict, why } = await this.#channel.deliver({ path, ce, pubsubname: sub.pubsubname, timeoutMs: sub.delivery.timeoutMs, signal })
      if (signal.aborted) return 'abandon'
      if (verdict === 'success') {
        metrics.delivered(this.#label.app, this.#label.subscription, 'success')
        return 'settle'
      }
      if (verdict === 'drop') {
        metrics.delivered(this.#label.app, this.#label.subscription, 'drop')
        log.warn({ id: ce.id, topic: ce.topic, path, why }, 'event dropped by the app')
        return 'settle'
      }
      if (verdict === 'unreachable') {
        this.#d.onUnreachable(why)
        return 'abandon'
      }
      if (!mayRetry(sub.delivery.retry, retries)) return await this.exhausted(ce, why, signal)
      metrics.retried(this.#label.app, this.#label.subscription)
      log.debug({ id: ce.id, path, why, retry: retries + 1 }, 'delivery will be retried')
      if (!await sleep(clock, retryDelay(sub.delivery.retry, retries, this.#d.random), signal)) return 'abandon'
    }
  }

  /** The retry budget is spent: dead-letter topic, else a counted drop. */
  async exhausted (ce: CloudEvent, why: string, signal: AbortSignal): Promise<Finish> {
    const { sub, bus, clock, metrics, log } = this.#d
    if (sub.deadLetterTopic === undefined) {
      metrics.delivered(this.#label.app, this.#label.subscription, 'drop')
      log.warn({ id: ce.id, topic: ce.topic, subscription: sub.name, why }, 'retries exhausted and no deadLetterTopic; event dropped')
      return 'settle'
    }
    if (!await deadLetter(bus, sub.deadLetterTopic, ce, sub.delivery.retry, clock, signal, log)) return 'abandon'
    metrics.delivered(this.#label.app, this.#label.subscription, 'deadletter')
    log.warn({ id: ce.id, topic: ce.topic, deadLetterTopic: sub.deadLetterTopic, why }, 'retries exhausted; event sent to the dead-letter topic')
    return 'settle'
  }
}
