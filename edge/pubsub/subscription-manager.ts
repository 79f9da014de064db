/**
 * Every app's subscriptions (declarative from the config, programmatic from each app's `/dapr/subscribe`)
 * and their delivery. Told by the app supervisor when an app starts or stops; apps declared with an
 * `appPort` only are found by polling. Each subscription is its own persistent MQTT session, so a hung,
 * failing or crashed app holds up nothing but its own subscriptions.
 */
import type { Duplex } from 'node:stream'
import { systemClock, type Clock } from '../../core/clock.ts'
import type { LocalBus } from '../../core/bus.ts'
import type { AppConfig, MechaConfig } from '../../core/config/index.ts'
import type { Logger } from '../../core/logger.ts'
import type { Metrics } from '../../core/metrics.ts'
import type { Namespace } from '../../core/store/index.ts'
import { AppChannels } from '../invoke/app-channels.ts'
import { AppSubscriptions, DEFAULT_DISCOVERY, discardSession, type AppState, type DiscoveryOptions } from './app-subscriptions.ts'
import { PubsubMetrics } from './metrics.ts'
import { pubsubNames } from './pubsub-names.ts'
import { assertMqttInternals } from './session.ts'
import { SessionRegistry } from './session-registry.ts'
import { DEFAULT_DELIVERY, fromDoc, inScope, type DeliveryPolicy, type Subscription } from './subscription.ts'

export interface SubscriptionManagerOptions {
  /** A trusted in-process connection to the broker (MqttBroker.connectInternal). */
  connect: () => Duplex
  /** For dead-letter publishes. */
  bus: LocalBus
  config: Pick<MechaConfig, 'subscriptions' | 'apps' | 'components'>
  log: Logger
  /** Shared with the publish routes so `/metrics` shows both; created on `metrics` when absent. */
  pubsubMetrics?: PubsubMetrics
  metrics?: Metrics
  clock?: Clock
  discovery?: Partial<DiscoveryOptions>
  /** Defaults for every subscription; each one's metadata may override them. */
  delivery?: Partial<DeliveryPolicy>
  /**
   * Where the sessions created for subscriptions are recorded (the runtime passes
   * `store.namespace('pubsub')`), so that a subscription that is gone after a restart (no longer listed
   * by its app, removed from the config, or its app removed) has its broker session discarded. Without
   * it, sessions are only discarded within one runtime lifetime.
   */
  registry?: Namespace
  /** How apps are called (HTTP, or gRPC for `appProtocol: grpc`); shared with service invocation. A private
   *  set, closed with the manager, when absent. */
  channels?: AppChannels
}

/** A subscription as `/v1.0/metadata` lists it (docs.dapr.io/reference/api/metadata_api). */
export interface SubscriptionInfo {
  appId: string
  pubsubname: string
  topic: string
  deadLetterTopic: string
  metadata: Record<string, string>
  rules: { rules: Array<{ match: string; path: string }> }
  type: 'DECLARATIVE' | 'PROGRAMMATIC'
}

export class SubscriptionManager {
  readonly #apps = new Map<string, AppSubscriptions>()
  readonly #log: Logger
  readonly metrics: PubsubMetrics
  #closed = false
  #ownChannels: AppChannels | undefined

  private constructor (log: Logger, metrics: PubsubMetrics) {
    this.#log = log
    this.metrics = metrics
  }

  static async create (opts: SubscriptionManagerOptions): Promise<SubscriptionManager> {
    // Before any session exists: a changed MQTT.js internal would otherwise lose every PUBACK silently.
    assertMqttInternals()
    const registry = await SessionRegistry.open(opts.registry)
    const metrics = opts.pubsubMetrics ?? new PubsubMetrics(opts.metrics)
    const self = new SubscriptionManager(opts.log, metrics)
    const channels = opts.channels ?? (self.#ownChannels = new AppChannels())
    const delivery: DeliveryPolicy = { ...DEFAULT_DELIVERY, ...opts.delivery, retry: { ...DEFAULT_DELIVERY.retry, ...opts.delivery?.retry } }
    const names = pubsubNames(opts.config.components)
    for (const app of opts.config.apps) {
      const declarative: Subscription[] = []
      const declarativeNames: string[] = []
      for (const doc of opts.config.subscriptions) {
        if (!inScope(doc, app.id)) continue
        declarativeNames.push(doc.metadata.name)
        try { declarative.push(fromDoc(doc, app.id, delivery)) } catch (err) {
          opts.log.error({ subscription: doc.metadata.name, app: app.id, err: (err as Error).message }, 'subscription ignored')
        }
      }
      if (app.appPort === undefined) {
        if (declarative.length > 0) opts.log.warn({ app: app.id }, 'app has subscriptions but no appPort; nothing can be delivered to it')
        continue
      }
      self.#apps.set(app.id, new AppSubscriptions({
        target: { appId: app.id, host: app.appHost, port: app.appPort, channel: channels.for(app) },
        declarative,
        declarativeNames,
        registry,
        connect: opts.connect,
        bus: opts.bus,
        clock: opts.clock ?? systemClock,
        metrics,
        log: opts.log,
        discovery: { ...DEFAULT_DISCOVERY, ...opts.discovery },
        delivery,
        pubsubNames: names,
      }))
    }
    try {
      // Sessions of apps that are gone from the config (or lost their appPort) can never be delivered again.
      for (const [clientId, entry] of registry.all()) {
        if (self.#apps.has(entry.appId)) continue
        await discardSession(opts.connect, registry, clientId, opts.log, `app ${entry.appId} is no longer configured`).catch(() => {})
      }
      await Promise.all([...self.#apps.values()].map((a) => a.start()))
    } catch (err) {
      await self.close()
      throw err
    }
    return self
  }

  /** The supervisor (re)started an app: look for it now. */
  appStarted (app: AppConfig | string): void {
    this.#apps.get(typeof app === 'string' ? app : app.id)?.started()
  }

  /** The supervisor saw an app exit: pause its subscriptions (the broker queues) until it answers again. */
  appStopped (app: AppConfig | string): void {
    this.#apps.get(typeof app === 'string' ? app : app.id)?.down('stopped')
  }

  /** The app fails its health probes: its deliveries wait (queued in the broker) until appHealthy. */
  appUnhealthy (app: AppConfig | string): void {
    this.#apps.get(typeof app === 'string' ? app : app.id)?.unhealthy()
  }

  /** The app passes its probes again (or its process ended): deliveries resume once it answers. */
  appHealthy (app: AppConfig | string): void {
    this.#apps.get(typeof app === 'string' ? app : app.id)?.healthy()
  }

  /** Whether an app currently counts as up (it answered `/dapr/subscribe`). */
  appState (appId: string): AppState | undefined {
    return this.#apps.get(appId)?.state
  }

  /** True once the app is up and all its subscriptions deliver. */
  appReady (appId: string): boolean {
    return this.#apps.get(appId)?.ready ?? false
  }

  list (): SubscriptionInfo[] {
    const out: SubscriptionInfo[] = []
    for (const [appId, app] of this.#apps) {
      for (const s of app.subscriptions) {
        out.push({
          appId,
          pubsubname: s.pubsubname,
          topic: s.topic,
          deadLetterTopic: s.deadLetterTopic ?? '',
          metadata: s.metadata,
          rules: { rules: [...s.rules, ...(s.defaultPath === undefined ? [] : [{ match: '', path: s.defaultPath }])] },
          type: s.kind === 'declarative' ? 'DECLARATIVE' : 'PROGRAMMATIC',
        })
      }
    }
    return out
  }

  /** Pauses every subscription (sessions and their queues stay in the broker). Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.#apps.values()].map((a) => a.close()))
    await this.#ownChannels?.close()
    this.#log.debug('subscriptions paused')
  }
}
