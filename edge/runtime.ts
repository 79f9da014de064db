import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import type { FastifyRequest } from 'fastify'
import { componentMetadata, type MechaConfig } from '../core/config/index.ts'
import { MechaError } from '../core/errors.ts'
import { Lifecycle } from '../core/lifecycle.ts'
import type { Logger } from '../core/logger.ts'
import { Metrics } from '../core/metrics.ts'
import { LevelStateStore, type StateStore } from '../core/state/index.ts'
import { LevelStore, type Store } from '../core/store/index.ts'
import { Supervisor } from '../core/supervisor/index.ts'
import { CloudBridge, type StateAccess } from '../cloud-bridge/index.ts'
import { healthRoutes } from './api/routes/health.ts'
import { lockRoutes } from './api/routes/lock.ts'
import { metadataRoutes, type MetadataBody } from './api/routes/metadata.ts'
import { shutdownRoutes } from './api/routes/shutdown.ts'
import { stateRoutes } from './api/routes/state.ts'
import { ApiServer, type RoutePlugin } from './api/server.ts'
import { callerByToken } from './api/token.ts'
import { MqttBroker } from './broker/index.ts'
import { LevelPersistence } from './broker/persistence/index.ts'
import { invokeRoutes } from './invoke/index.ts'
import { MetricsServer } from './metrics-server.ts'
import { PubsubMetrics, SubscriptionManager, publishRoutes, pubsubNames } from './pubsub/index.ts'
import { ShadowedStateStore } from './state/shadow-access.ts'
import { UiServer } from './ui/server.ts'
import { BUILD, VERSION } from './version.ts'

const STATE_CAPABILITIES = ['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API']

export type Phase = 'starting' | 'running' | 'stopping' | 'stopped'

export interface RuntimeOptions {
  config: MechaConfig
  log: Logger
  /** Called once the runtime has stopped because of `POST /v1.0/shutdown`. */
  onShutdownRequest?: () => void
}

export interface Addresses { mqtt?: { host: string; port: number }; api?: { host: string; port: number }; ui?: { host: string; port: number }; metrics?: { host: string; port: number } }

/**
 * The composition root: creates every part in order (store → broker → API → UI → metrics → …) and hands each
 * only the core interfaces it needs; stops them in reverse. The only module that knows all the parts.
 */
export class Runtime {
  readonly config: MechaConfig
  readonly log: Logger
  readonly metrics = new Metrics()
  readonly addresses: Addresses = {}
  #phase: Phase = 'starting'
  readonly #lifecycle: Lifecycle
  readonly #extended = new Map<string, string>()
  /** Each supervised app's own API token → its id: how the API knows which app calls (state key scoping). */
  readonly #appTokens = new Map<string, string>()
  readonly #opts: RuntimeOptions
  store!: Store
  broker!: MqttBroker
  readonly stateStores = new Map<string, StateStore>()
  cloud: CloudBridge | undefined
  supervisor!: Supervisor
  subscriptions!: SubscriptionManager
  readonly pubsubMetrics = new PubsubMetrics(this.metrics)

  private constructor (opts: RuntimeOptions) {
    this.#opts = opts
    this.config = opts.config
    this.log = opts.log
    this.#lifecycle = new Lifecycle(opts.log)
  }

  get phase (): Phase { return this.#phase }

  static async start (opts: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(opts)
    try {
      await rt.#start()
    } catch (err) {
      await rt.stop().catch(() => {})
      throw err
    }
    return rt
  }

  async #start (): Promise<void> {
    const { config, log } = this
    const started = Date.now()
    const dataDir = resolve(config.dataDir)
    const store = this.store = await this.#lifecycle.start('store', () => LevelStore.create({ dataDir, durability: config.store.durability }))
    this.metrics.gauge({ name: 'mecha_store_bytes', help: 'approximate size of the LevelDB store on disk', collect: async function () { this.set(await store.approximateSize()) } })

    await this.#startStateStores()

    // Stopped after the broker (reverse order): destroy waits for the broker's last writes, then the store closes.
    const persistence = await this.#lifecycle.start('broker-persistence', () => LevelPersistence.create(this.store.namespace('broker')))
    this.broker = await this.#lifecycle.start('broker', () => MqttBroker.create({ config: config.mqtt, log: log.child({ part: 'broker' }), metrics: this.metrics, persistence }))
    // The bridge registers its outbox interceptor before the broker accepts its first connection, so no
    // forwarded publish can be acknowledged without being queued.
    await this.#startCloud()
    this.addresses.mqtt = await this.broker.listen()

    for (const app of config.apps) if (app.command !== undefined) this.#appTokens.set(randomBytes(24).toString('base64url'), app.id)
    const api = await this.#lifecycle.start('api', () => ApiServer.create(
      { host: config.api.host, port: config.api.port, token: config.api.token, maxBodyBytes: config.api.maxBodyBytes, log: log.child({ part: 'api' }), appTokens: this.#appTokens },
      this.#routes(),
    ))
    this.addresses.api = await api.listen()

    if (config.ui.enabled) {
      const ui = await this.#lifecycle.start('ui', async () => new UiServer({ host: config.ui.host, port: config.ui.port, log: log.child({ part: 'ui' }), broker: this.broker, version: VERSION }))
      this.addresses.ui = await ui.listen()
    }
    if (config.metrics.enabled) {
      const ms = await this.#lifecycle.start('metrics', async () => new MetricsServer({ host: config.metrics.host, port: config.metrics.port, metrics: this.metrics }))
      this.addresses.metrics = await ms.listen()
    }
    // Subscriptions before the apps (their sessions queue from now on); stopped after the apps, before the broker.
    this.subscriptions = await this.#lifecycle.start('subscriptions', () => SubscriptionManager.create({
      connect: () => this.broker.connectInternal(), bus: this.broker, config, log: log.child({ part: 'pubsub' }), pubsubMetrics: this.pubsubMetrics,
      // Which subscription sessions exist, so ones no app wants any more are ended after a restart too.
      registry: this.store.namespace('pubsub'),
    }))
    // Apps last: they expect the API (and the broker) to answer as soon as they start.
    this.supervisor = await this.#lifecycle.start('apps', async () => new Supervisor({
      apps: config.apps,
      env: this.#appEnv(),
      appEnv: (app): Record<string, string> => {
        for (const [token, id] of this.#appTokens) if (id === app.id) return { DAPR_API_TOKEN: token }
        return {}
      },
      log: log.child({ part: 'apps' }),
    }))
    this.supervisor.on('up', (app) => { this.subscriptions.appStarted(app) })
    this.supervisor.on('down', (app) => { this.subscriptions.appStopped(app) })
    this.supervisor.start()
    this.#phase = 'running'
    log.info({ id: config.id, version: VERSION, dataDir, ...flatAddresses(this.addresses), ms: Date.now() - started }, 'mecha is running')
  }

  /** The built-in `statestore` and every `state.level` component, each in its own namespace. */
  async #startStateStores (): Promise<void> {
    const docs = [
      { name: 'statestore', metadata: {} as Record<string, string> },
      ...this.config.components.filter((c) => c.spec.type === 'state.level').map((c) => ({ name: c.metadata.name, metadata: componentMetadata(c) })),
    ]
    const root = this.store.namespace('state')
    for (const doc of docs) {
      const store = await this.#lifecycle.start(`state:${doc.name}`, () => LevelStateStore.create({
        namespace: root.namespace(doc.name),
        name: doc.name,
        keyPrefix: doc.metadata.keyPrefix,
        logger: this.log.child({ part: 'state', store: doc.name }),
      }))
      this.stateStores.set(doc.name, store)
    }
  }

  async #startCloud (): Promise<void> {
    const cloud = this.config.cloud
    if (cloud === undefined) return
    let stateAccess: StateAccess | undefined
    if (cloud.stateSync !== undefined) {
      const target = this.stateStores.get(cloud.stateSync.store)
      if (target === undefined) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `cloud.stateSync.store: no state store "${cloud.stateSync.store}"`)
      const shadowed = new ShadowedStateStore(target)
      this.stateStores.set(cloud.stateSync.store, shadowed)
      stateAccess = shadowed.access()
    }
    this.cloud = await this.#lifecycle.start('cloud', () => CloudBridge.create({
      config: cloud, nodeId: this.config.id, store: this.store, bus: this.broker, log: this.log.child({ part: 'cloud' }), stateAccess,
    }))
    const bridge = this.cloud
    this.metrics.gauge({ name: 'mecha_cloud_connected', help: '1 while the cloud link is up', collect () { this.set(bridge.snapshot().connected ? 1 : 0) } })
    this.metrics.gauge({
      name: 'mecha_cloud_outbox_messages',
      help: 'the outbox ledger: accepted = delivered + dropped + queued',
      labelNames: ['kind'],
      collect () {
        const l = bridge.ledger()
        this.set({ kind: 'accepted' }, l.accepted); this.set({ kind: 'delivered' }, l.delivered); this.set({ kind: 'queued' }, l.queued)
        this.set({ kind: 'rejected_new' }, l.rejectedNew)
        for (const [reason, n] of Object.entries(l.dropped)) this.set({ kind: `dropped_${reason}` }, n)
      },
    })
    this.metrics.gauge({ name: 'mecha_cloud_outbox_write_errors', help: 'outbox writes that failed (disk full): those publishes were not acknowledged', collect () { this.set(bridge.stats().writeErrors) } })
    this.metrics.gauge({ name: 'mecha_cloud_outbox_bytes', help: 'bytes queued in the outbox', collect () { this.set(bridge.ledger().queuedBytes) } })
  }

  /** What an app needs to find us, named as Dapr SDKs and MQTT apps expect. */
  #appEnv (): Record<string, string> {
    const api = this.addresses.api!
    const env: Record<string, string> = {
      DAPR_HTTP_PORT: String(api.port),
      DAPR_HTTP_ENDPOINT: `http://127.0.0.1:${api.port}`,
      MECHA_MQTT_URL: `mqtt://127.0.0.1:${this.addresses.mqtt!.port}`,
    }
    return env
  }

  /** The calling app, as Dapr scopes state keys: the supervised app that calls (by its own API token), else the
   *  `dapr-app-id` header, else the runtime's own id. */
  #appIdFor (req: FastifyRequest): string {
    // A supervised app's own token decides first: like a sidecar's app id, a header cannot change it.
    const byToken = callerByToken(req, this.#appTokens)
    if (byToken !== undefined) return byToken
    const h = req.headers['dapr-app-id']
    return typeof h === 'string' && h !== '' ? h : this.config.id
  }

  #routes (): RoutePlugin[] {
    const stores = (name: string): StateStore | undefined => this.stateStores.get(name)
    const storeNames = (): string[] => [...this.stateStores.keys()]
    const appIdFor = (req: FastifyRequest): string => this.#appIdFor(req)
    const names = pubsubNames(this.config.components) // the config is frozen: once, not per publish
    return [
      (app) => stateRoutes(app, { stores, storeNames, appIdFor, maxValueBytes: this.config.state.maxValueBytes }),
      (app) => lockRoutes(app, { stores, storeNames, appIdFor }),
      (app) => publishRoutes(app, { bus: this.broker, pubsubNames: () => names, appIdFor, maxPayloadBytes: this.config.mqtt.maxPayloadBytes, metrics: this.pubsubMetrics }),
      (app) => invokeRoutes(app, { apps: () => this.config.apps, callerIdFor: appIdFor, runtimeId: this.config.id }),
      (app) => healthRoutes(app, { phase: () => this.#phase, componentsReady: () => this.#phase === 'running' }),
      (app) => metadataRoutes(app, { metadata: () => this.#metadata(), setExtended: (k, v) => { this.#extended.set(k, v) } }),
      (app) => shutdownRoutes(app, {
        shutdown: () => {
          this.log.info('shutdown requested through the API')
          this.stop().catch(() => {}).finally(() => this.#opts.onShutdownRequest?.())
        },
      }),
    ]
  }

  async #metadata (): Promise<MetadataBody> {
    const b = this.broker.stats()
    const extended: Record<string, string> = {
      'mecha.version': VERSION,
      'mecha.build': BUILD.commit,
      'mecha.phase': this.#phase,
      'mqtt.clients': String(b.clients),
      'mqtt.messagesIn': String(b.messagesIn),
      'mqtt.messagesOut': String(b.messagesOut),
      'mqtt.rejected': String(b.rejected),
      'mqtt.address': this.addresses.mqtt === undefined ? '' : `${this.addresses.mqtt.host}:${this.addresses.mqtt.port}`,
      'store.bytes': String(await this.store.approximateSize()),
      ...this.#cloudExtended(),
      ...Object.fromEntries(this.supervisor?.status().map((a) => [`app.${a.id}`, `${a.state.type}, ${a.restarts} restarts`]) ?? []),
      ...Object.fromEntries(this.#extended),
    }
    return {
      id: this.config.id,
      runtimeVersion: VERSION,
      enabledFeatures: [],
      actorRuntime: { runtimeStatus: 'DISABLED', activeActors: [], hostReady: false, placement: '' },
      components: [
        { name: 'statestore', type: 'state.level', version: 'v1', capabilities: STATE_CAPABILITIES },
        { name: 'pubsub', type: 'pubsub.mqtt', version: 'v1', capabilities: [] },
        ...this.config.components.map((c) => ({ name: c.metadata.name, type: c.spec.type, version: c.spec.version, capabilities: c.spec.type === 'state.level' ? STATE_CAPABILITIES : [] })),
      ],
      httpEndpoints: [],
      // Declarative and programmatic alike, as Dapr lists them; the app each one delivers to is in `metadata`.
      subscriptions: this.subscriptions.list().map(({ appId, ...s }) => ({ ...s, metadata: { ...s.metadata, 'mecha.appId': appId } })),
      appConnectionProperties: {},
      extended,
    }
  }

  #cloudExtended (): Record<string, string> {
    if (this.cloud === undefined) return { 'cloud.status': 'not-configured' }
    const snap = this.cloud.snapshot()
    const l = snap.ledger
    return {
      'cloud.status': snap.status.type,
      'cloud.connected': String(snap.connected),
      'cloud.url': snap.url ?? '',
      'cloud.outbox.accepted': String(l.accepted),
      'cloud.outbox.delivered': String(l.delivered),
      'cloud.outbox.queued': String(l.queued),
      'cloud.outbox.queuedBytes': String(l.queuedBytes),
      'cloud.outbox.dropped': JSON.stringify(l.dropped),
      'cloud.outbox.rejectedNew': String(l.rejectedNew),
      'cloud.outbox.writeErrors': String(this.cloud.stats().writeErrors),
    }
  }

  /** Graceful stop in reverse start order, bounded to ~4.5 s so SIGTERM finishes within 5 s. Idempotent. */
  async stop (): Promise<void> {
    if (this.#phase === 'stopped') return
    this.#phase = 'stopping'
    try {
      await this.#lifecycle.stop()
    } finally {
      this.#phase = 'stopped'
    }
  }
}

function flatAddresses (a: Addresses): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(a)) if (v !== undefined) out[k] = `${v.host}:${v.port}`
  return out
}
