/**
 * The subscriptions of one app and its up/down cycle. The app counts as up once it answers
 * `GET /dapr/subscribe` (any HTTP status; 200 lists its programmatic subscriptions, as Dapr asks at app
 * start: docs.dapr.io/reference/api/pubsub_api); until then, and whenever it refuses connections or its
 * supervisor reports it stopped, its sessions are paused and it is polled again with bounded backoff.
 * State changes run one after another (a promise chain), so a pause never races a resume.
 */
import type { Duplex } from 'node:stream'
import type { Clock } from '../../core/clock.ts'
import { Backoff, proportionalJitter } from '../../core/backoff.ts'
import type { LocalBus } from '../../core/bus.ts'
import type { Logger } from '../../core/logger.ts'
import type { AppChannel } from '../invoke/app-channel.ts'
import { HttpAppChannel } from '../invoke/http-channel.ts'
import { ActiveSubscription, sessionClientId } from './active-subscription.ts'
import { sleep } from './dead-letter.ts'
import type { AppTarget } from './delivery.ts'
import type { PubsubMetrics } from './metrics.ts'
import { Router } from './router.ts'
import { MqttSession } from './session.ts'
import type { SessionRegistry } from './session-registry.ts'
import { fromProgrammatic, type DeliveryPolicy, type Subscription } from './subscription.ts'

export interface DiscoveryOptions {
  /** First delay between polls of `/dapr/subscribe`. @default 100 */
  minDelayMs: number
  /** The cap of the doubling delay. @default 2000 */
  maxDelayMs: number
  /** Deadline of one poll. @default 5000 */
  timeoutMs: number
}

export const DEFAULT_DISCOVERY: Readonly<DiscoveryOptions> = Object.freeze({ minDelayMs: 100, maxDelayMs: 2000, timeoutMs: 5000 })

export interface AppSubscriptionsDeps {
  target: AppTarget
  declarative: Subscription[]
  /** Names of the declarative subscriptions in this app's scope, valid or not (a broken one keeps its session). */
  declarativeNames: readonly string[]
  /** The sessions this app's subscriptions have in the broker, across runtime restarts. */
  registry: SessionRegistry
  connect: () => Duplex
  bus: LocalBus
  clock: Clock
  metrics: PubsubMetrics
  log: Logger
  discovery: DiscoveryOptions
  delivery: DeliveryPolicy
  /** Pub/sub names that exist; a subscription to any other is rejected. */
  pubsubNames: readonly string[]
}

/** `unhealthy`: the app fails its health probes; its deliveries wait even though it may still answer. */
export type AppState = 'discovering' | 'up' | 'unhealthy' | 'closed'

export class AppSubscriptions {
  readonly #d: AppSubscriptionsDeps
  readonly #active = new Map<string, ActiveSubscription>()
  #state: AppState = 'discovering'
  #chain: Promise<void> = Promise.resolve()
  #poll = new AbortController()
  #wake: (() => void) | undefined
  /** GET /dapr/subscribe for HTTP apps, AppCallback ListTopicSubscriptions for gRPC ones. */
  readonly #channel: AppChannel

  constructor (deps: AppSubscriptionsDeps) {
    this.#d = deps
    this.#channel = deps.target.channel ?? new HttpAppChannel(deps.target)
    for (const sub of deps.declarative) this.#add(sub)
  }

  get state (): AppState { return this.#state }
  /** Up, and every subscription's session is open (a message published now reaches the app). */
  get ready (): boolean { return this.#state === 'up' && [...this.#active.values()].every((a) => a.running) }
  get subscriptions (): Subscription[] { return [...this.#active.values()].map((a) => a.sub) }

  /**
   * Ends the sessions of declarative subscriptions that left the config, creates the current ones (so
   * messages queue before the app is first up), then polls the app. Programmatic sessions wait for the
   * app's own list.
   */
  async start (): Promise<void> {
    const keep = new Set(this.#d.declarativeNames.map((name) => this.#clientId('declarative', name)))
    await this.#sweep((clientId, e) => e.kind === 'programmatic' || keep.has(clientId))
    await Promise.all([...this.#active.values()].map(async (a) => {
      await this.#register(a)
      await a.prime().catch((err) => { this.#d.log.error({ clientId: a.clientId, err: (err as Error).message }, 'cannot create subscription session') })
    }))
    this.#discover()
  }

  /** The supervisor started (or restarted) the app: poll it now rather than at the next backoff step. */
  started (): void {
    // When it is up already there is nothing to do: a restart is always reported as down first.
    if (this.#state === 'discovering') this.#wake?.()
  }

  /** The app is gone (its supervisor says so, or it refuses connections): pause and poll until it is back. */
  down (why: string): void {
    if (this.#state !== 'up') return
    this.#d.log.info({ app: this.#d.target.appId, why }, 'app unreachable; pausing its subscriptions')
    this.#state = 'discovering'
    this.#enqueue(async () => { await Promise.all([...this.#active.values()].map((a) => a.pause())) })
    this.#discover()
  }

  /**
   * The app fails its health probes (Dapr's app-health semantics): its sessions pause, and discovery stops,
   * because an unhealthy app may still answer `/dapr/subscribe` and would be resumed at once.
   */
  unhealthy (): void {
    if (this.#state === 'closed' || this.#state === 'unhealthy') return
    const was = this.#state
    this.#state = 'unhealthy'
    this.#poll.abort()
    if (was === 'up') {
      this.#d.log.info({ app: this.#d.target.appId }, 'app unhealthy; pausing its subscriptions')
      this.#enqueue(async () => { await Promise.all([...this.#active.values()].map((a) => a.pause())) })
    }
  }

  /** Healthy again, or its process ended (a new one starts with an unknown health): deliveries may resume. */
  healthy (): void {
    if (this.#state !== 'unhealthy') return
    this.#state = 'discovering'
    this.#discover()
  }

  #enqueue (fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn).catch((err) => { this.#d.log.error({ err, app: this.#d.target.appId }, 'subscription state change failed') })
    this.#chain = next
    return next
  }

  #discover (): void {
    this.#poll.abort()
    const ctl = new AbortController()
    this.#poll = ctl
    void this.#pollLoop(ctl.signal)
  }

  async #pollLoop (signal: AbortSignal): Promise<void> {
    const { target, discovery, clock } = this.#d
    // Doubling, capped, ±25 % jitter: the runtime's one backoff (core/backoff.ts).
    const backoff = new Backoff({ initialMs: Math.min(discovery.minDelayMs, discovery.maxDelayMs), maxMs: discovery.maxDelayMs, jitter: proportionalJitter(0.25) })
    while (!signal.aborted) {
      const r = await this.#channel.subscriptions(discovery.timeoutMs, signal)
      if (signal.aborted) return
      if (r.up) {
        // Only a list (or none) says what the app wants; any other answer keeps what it had.
        if (r.list === undefined) this.#d.log.warn({ app: target.appId }, 'the app did not list its subscriptions; keeping its programmatic subscriptions as they were')
        await this.#enqueue(() => this.#up(r.list, signal))
        return
      }
      // Woken early by started(), or after the (jittered, doubling, capped) delay.
      await Promise.race([sleep(clock, backoff.next(), signal), new Promise<void>((resolve) => { this.#wake = resolve })])
      this.#wake = undefined
    }
  }

  /** `programmatic`: the app's `/dapr/subscribe` list; undefined when its answer did not say (keep what it had). `poll`: the poll that saw the app answer. */
  async #up (programmatic: unknown, poll: AbortSignal): Promise<void> {
    // A down(), unhealthy() or close() after this poll answered (before this ran, or while the reconcile
    // awaited) aborted the poll: it wins, and a new poll (if any) brings the app up again.
    if (poll.aborted) return
    if (programmatic !== undefined) await this.#reconcile(programmatic)
    if (poll.aborted) return
    this.#state = 'up'
    this.#d.log.info({ app: this.#d.target.appId, subscriptions: [...this.#active.values()].map((a) => `${a.sub.pubsubname}/${a.sub.topic}`) }, 'app is up; delivering')
    await Promise.all([...this.#active.values()].map(async (a) => {
      await this.#register(a)
      await a.resume().catch((err) => { this.#d.log.error({ clientId: a.clientId, err: (err as Error).message }, 'cannot open subscription session') })
    }))
  }

  /** The app's list is known: new and changed subscriptions replace the old, and unlisted ones end for good. */
  async #reconcile (programmatic: unknown): Promise<void> {
    const { subs, problems, listed } = fromProgrammatic(programmatic, this.#d.target.appId, this.#d.delivery)
    for (const p of problems) this.#d.log.warn({ app: this.#d.target.appId, problem: p }, 'programmatic subscription ignored')
    const wanted = new Set<string>()
    for (const sub of subs) {
      const key = keyOf(sub)
      wanted.add(key)
      const old = this.#active.get(key)
      if (old !== undefined && JSON.stringify(old.sub) === JSON.stringify(sub)) continue
      if (old !== undefined) { await old.pause(); this.#active.delete(key) }
      this.#add(sub)
    }
    for (const [key, a] of this.#active) {
      if (a.sub.kind === 'programmatic' && !wanted.has(key)) { await a.pause(); this.#active.delete(key) }
    }
    // Every session of this app the registry knows (from this run or an earlier one) that is neither
    // active nor still listed is discarded; the broker would otherwise queue for it forever.
    const keep = new Set([
      ...[...this.#active.values()].map((a) => a.clientId),
      ...listed.map((name) => this.#clientId('programmatic', name)),
      ...this.#d.declarativeNames.map((name) => this.#clientId('declarative', name)),
    ])
    await this.#sweep((clientId) => keep.has(clientId))
  }

  #clientId (kind: Subscription['kind'], name: string): string {
    return sessionClientId({ appId: this.#d.target.appId, kind, name })
  }

  /**
   * Records a session in the registry before the broker has it. A session kept under the same client id
   * but for another filter (a declarative document whose topic changed) is discarded first: a present
   * session is not subscribed again, so it would go on receiving the old topic only.
   */
  async #register (a: ActiveSubscription): Promise<void> {
    const { registry, log } = this.#d
    try {
      const known = registry.get(a.clientId)
      if (known !== undefined && known.topic !== a.sub.topic) await this.#discard(a.clientId, `its topic changed from ${known.topic} to ${a.sub.topic}`)
      await registry.add(a.clientId, { appId: a.sub.appId, kind: a.sub.kind, name: a.sub.name, topic: a.sub.topic })
    } catch (err) {
      // Delivery matters more than the bookkeeping: go on, the session may just outlive its subscription.
      log.error({ clientId: a.clientId, err: (err as Error).message }, 'cannot record subscription session')
    }
  }

  /** Discards every registered session of this app that `keep` does not want. */
  async #sweep (keep: (clientId: string, entry: { kind: Subscription['kind'] }) => boolean): Promise<void> {
    for (const [clientId, entry] of this.#d.registry.ofApp(this.#d.target.appId)) {
      if (!keep(clientId, entry)) await this.#discard(clientId, 'no longer subscribed').catch(() => {})
    }
  }

  async #discard (clientId: string, why: string): Promise<void> {
    await discardSession(this.#d.connect, this.#d.registry, clientId, this.#d.log, why)
  }

  #add (sub: Subscription): void {
    if (!this.#d.pubsubNames.includes(sub.pubsubname)) {
      this.#d.log.error({ app: sub.appId, subscription: sub.name, pubsubname: sub.pubsubname }, 'subscription to an unknown pub/sub ignored')
      return
    }
    let router: Router
    try { router = new Router(sub.rules, sub.defaultPath) } catch (err) {
      this.#d.log.error({ app: sub.appId, subscription: sub.name, err: (err as Error).message }, 'subscription ignored')
      return
    }
    const d = this.#d
    this.#active.set(keyOf(sub), new ActiveSubscription(sub, d.connect, {
      sub, router, target: d.target, bus: d.bus, clock: d.clock, metrics: d.metrics, log: d.log.child({ app: sub.appId, subscription: sub.name }),
      onUnreachable: (why) => { this.down(why) },
    }))
  }

  /** Pauses everything (the broker keeps the sessions) and stops polling. Idempotent. */
  async close (): Promise<void> {
    this.#state = 'closed'
    this.#poll.abort()
    await this.#enqueue(async () => { await Promise.all([...this.#active.values()].map((a) => a.pause())) })
  }
}

/**
 * Ends a session for good and forgets it; when the broker cannot be reached it stays registered, so the
 * next sweep tries again. Throws only if the session could not be discarded.
 */
export async function discardSession (connect: () => Duplex, registry: SessionRegistry, clientId: string, log: Logger, why: string): Promise<void> {
  try {
    await MqttSession.discard(connect, clientId)
  } catch (err) {
    log.warn({ clientId, why, err: (err as Error).message }, 'cannot discard subscription session; will try again')
    throw err
  }
  await registry.remove(clientId).catch((err) => { log.error({ clientId, err: (err as Error).message }, 'cannot forget a discarded subscription session') })
  log.info({ clientId, why }, 'subscription session discarded')
}

function keyOf (sub: Subscription): string {
  return `${sub.kind}:${sub.name}`
}
