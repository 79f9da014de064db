import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import type { FastifyRequest } from 'fastify'
import { componentMetadata, type MechaConfig } from '../core/config/index.ts'
import { MechaError } from '../core/errors.ts'
import { Lifecycle } from '../core/lifecycle.ts'
import type { Logger } from '../core/logger.ts'
import { Metrics } from '../core/metrics.ts'
import { LevelStateStore, type LockStore, type StateStore } from '../core/state/index.ts'
import { LevelStore, type Store } from '../core/store/index.ts'
import { Supervisor } from '../core/supervisor/index.ts'
import type { CloudBridge, StateAccess } from '../cloud-bridge/index.ts'
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
import { jobRoutes } from './api/routes/jobs.ts'
import { JobScheduler } from '../core/jobs/index.ts'
import { deliverJob } from './jobs-delivery.ts'
import { MetricsServer } from './metrics-server.ts'
import { createServices, type Services } from './grpc/services.ts'
import { AppChannels } from './invoke/app-channels.ts'
import { PubsubMetrics, SubscriptionManager, publishRoutes, pubsubNames } from './pubsub/index.ts'
import { ShadowedStateStore } from './state/shadow-access.ts'
import type { AdminStatusEvent, PartStatus } from './admin/backend.ts'
import { BindingRegistry } from '../core/bindings/registry.ts'
import type { BindingComponent } from '../core/bindings/index.ts'
import { builtinBindings } from '../devices/index.ts'
import { BindingHost } from './bindings/index.ts'
import { BindingAppRouter } from './bindings/app-routing.ts'
import { registerBindingMetrics, registerCloudMetrics } from './root/metrics.ts'
import { bindingRoutes } from './api/routes/bindings.ts'
import { bindingCapabilities, bindingComponents } from './bindings/components.ts'
import { bindingExtended, cloudExtended, subscriptionExtended } from './root/metadata-extended.ts'
import { adminBackendOf } from './root/admin-wiring.ts'
import { SystemdNotifier } from '../core/supervisor/watchdog.ts'
import { diffConfig, type HotPart } from './reload/diff.ts'
import { mergeRestartBound, type ReloadOutcome, type ReloadResult } from './reload/merge.ts'
import { readConfigFile } from './reload/config-file.ts'
import { BUILD, VERSION } from './version.ts'

const STATE_CAPABILITIES = ['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API']

export type Phase = 'starting' | 'running' | 'stopping' | 'stopped'

/**
 * The component types this build implements beyond the built-in state and pub/sub: the device bindings of
 * devices/, each validating its own metadata. `mecha check`, `mecha run` and every reload use this one.
 */
export const componentCatalog = new BindingRegistry(builtinBindings)

export interface RuntimeOptions {
  config: MechaConfig
  log: Logger
  /** Called once the runtime has stopped because of `POST /v1.0/shutdown`. */
  onShutdownRequest?: () => void
  /** The config file it runs from (reloads read it again); undefined when it runs on defaults. */
  configFile?: string
  /** What the command line overrides in every config read (`--data-dir`). */
  overrides?: { dataDir?: string }
}

export interface Addresses { mqtt?: { host: string; port: number }; api?: { host: string; port: number }; grpc?: { host: string; port: number }; ui?: { host: string; port: number }; metrics?: { host: string; port: number } }

/**
 * The composition root: creates every part in order (store → broker → API → UI → metrics → …) and hands each
 * only the core interfaces it needs; stops them in reverse. The only module that knows all the parts.
 */
export type { ReloadOutcome, ReloadResult } from './reload/merge.ts'

export class Runtime {
  // Every part is a private field (CONVENTIONS 10): users see the runtime through its API, /metrics and
  // /v1.0/metadata, not by reaching into the broker or the store; tests do the same.
  #config: MechaConfig
  readonly #log: Logger
  readonly #metrics = new Metrics()
  readonly #addresses: Addresses = {}
  #phase: Phase = 'starting'
  readonly #lifecycle: Lifecycle
  readonly #extended = new Map<string, string>()
  /** Each supervised app's own API token → its id: how the API knows which app calls (state key scoping). */
  readonly #appTokens = new Map<string, string>()
  readonly #opts: RuntimeOptions
  #store!: Store
  #broker!: MqttBroker
  readonly #stateStores = new Map<string, StateStore>()
  /** The plain state stores by name (stateStores holds the shadowed one where the cloud syncs state). */
  readonly #plainStores = new Map<string, StateStore>()
  #cloud: CloudBridge | undefined
  #api: ApiServer | undefined
  #grpc: { setToken(token: string | undefined): void } | undefined
  #channels: AppChannels | undefined
  #jobs: JobScheduler | undefined
  #bindings: BindingHost | undefined
  #watchdog: SystemdNotifier | undefined
  readonly #startedAt = Date.now()
  /** Input bindings to apps; they wait while an app fails its probes (subscriptions pause in the manager). */
  readonly #bindingApps: BindingAppRouter
  readonly #statusListeners = new Set<(e: AdminStatusEvent) => void>()
  /** One reload at a time; each waits for the one before. */
  #reloading: Promise<unknown> = Promise.resolve()
  #supervisor!: Supervisor
  #subscriptions!: SubscriptionManager
  readonly #pubsubMetrics = new PubsubMetrics(this.#metrics)

  private constructor (opts: RuntimeOptions) {
    this.#opts = opts
    this.#config = opts.config
    this.#log = opts.log
    this.#lifecycle = new Lifecycle(opts.log)
    this.#bindingApps = new BindingAppRouter(() => this.#config, opts.log.child({ part: 'bindings' }))
  }

  get phase (): Phase { return this.#phase }
  /** Where each listener is bound (port 0 resolved): plain data, a copy. */
  get addresses (): Readonly<Addresses> { return { ...this.#addresses } }
  /** The config in force (the last one applied by a reload). */
  get config (): MechaConfig { return this.#config }

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
    const config = this.#config
    const log = this.#log
    const started = Date.now()
    const dataDir = resolve(config.dataDir)
    const store = this.#store = await this.#lifecycle.start('store', () => LevelStore.create({ dataDir, durability: config.store.durability }))
    this.#metrics.gauge({ name: 'mecha_store_bytes', help: 'approximate size of the LevelDB store on disk', collect: async function () { this.set(await store.approximateSize()) } })

    await this.#startStateStores()
    // Jobs (Dapr's Jobs API) are kept in the store; they fire once the apps run (started last, below).
    this.#jobs = await this.#lifecycle.start('jobs', () => JobScheduler.create({
      namespace: store.namespace('jobs'), log: log.child({ part: 'jobs' }), deliver: (job) => deliverJob(job, this.#config.apps, this.#config.id),
    }))

    // Stopped after the broker (reverse order): destroy waits for the broker's last writes, then the store closes.
    const persistence = await this.#lifecycle.start('broker-persistence', () => LevelPersistence.create(this.#store.namespace('broker')))
    this.#broker = await this.#lifecycle.start('broker', () => MqttBroker.create({ config: config.mqtt, log: log.child({ part: 'broker' }), metrics: this.#metrics, persistence }))
    // The bridge registers its outbox interceptor before the broker accepts its first connection, so no
    // forwarded publish can be acknowledged without being queued.
    await this.#startCloud()
    this.#addresses.mqtt = await this.#broker.listen()

    for (const app of config.apps) if (app.command !== undefined) this.#appTokens.set(randomBytes(24).toString('base64url'), app.id)
    // How the runtime calls apps (HTTP, or gRPC for `appProtocol: grpc`), for invocation and subscriptions.
    this.#lifecycle.add('app-channels', async () => { await this.#channels?.close() })
    this.#channels = new AppChannels({ maxMessageBytes: config.api.grpcMaxMessageBytes })
    const services = this.#makeServices()
    const api = this.#api = await this.#lifecycle.start('api', () => ApiServer.create(
      { host: config.api.host, port: config.api.port, token: config.api.token, maxBodyBytes: config.api.maxBodyBytes, log: log.child({ part: 'api' }), appTokens: this.#appTokens },
      this.#routes(services),
    ))
    this.#addresses.api = await api.listen()
    if (config.api.grpc) {
      // Loaded only here: a gateway with the gRPC API off never loads @grpc/grpc-js.
      const { GrpcServer } = await import('./grpc/server.ts')
      const grpc = this.#grpc = await this.#lifecycle.start('grpc', () => GrpcServer.create({
        host: config.api.host, port: config.api.grpcPort, token: config.api.token, appTokens: this.#appTokens,
        runtimeId: () => this.#config.id, maxMessageBytes: config.api.grpcMaxMessageBytes, log: log.child({ part: 'grpc' }),
        services: { ...services, jobs: this.#jobs, bindings: this.#invokeBinding, shutdown: this.#shutdownRequested },
      }))
      this.#addresses.grpc = await grpc.listen()
    }

    if (config.ui.enabled) {
      // Loaded only here (CONVENTIONS 13): with `ui.enabled: false` the UI server, the admin API and their
      // dependencies are never evaluated.
      const [{ UiServer }, admin] = await Promise.all([import('./ui/server.ts'), import('./admin-backend.ts')])
      const ui = await this.#lifecycle.start('ui', () => UiServer.create({
        host: config.ui.host, port: config.ui.port, log: log.child({ part: 'ui' }), broker: this.#broker, version: VERSION,
        dataDir,
        backend: adminBackendOf(admin, {
          version: VERSION, startedAt: this.#startedAt, configFile: this.#opts.configFile, overrides: this.#opts.overrides, catalog: componentCatalog,
          config: () => this.#config, phase: () => this.#phase, reload: (why) => this.reloadFromFile(why),
          subscribe: (fn) => { this.#statusListeners.add(fn); return () => { this.#statusListeners.delete(fn) } },
          broker: this.#broker, cloud: () => this.#cloud, supervisor: () => this.#supervisor, bindings: () => this.#bindings, stateStores: () => this.#stateStores,
        }),
        // MQTT over WebSocket needs an admin session unless the broker has users of its own to check.
        requireSessionForMqtt: config.mqtt.users.length === 0,
        tls: config.ui.tls,
        session: config.ui.session,
      }))
      this.#addresses.ui = await ui.listen()
    }
    if (config.metrics.enabled) {
      const ms = await this.#lifecycle.start('metrics', async () => new MetricsServer({ host: config.metrics.host, port: config.metrics.port, metrics: this.#metrics }))
      this.#addresses.metrics = await ms.listen()
    }
    // Device bindings publish on the bus and call apps; each type's driver loads only when a component uses it.
    this.#bindings = await this.#lifecycle.start('bindings', () => BindingHost.create({
      registry: componentCatalog, bus: this.#broker, log: log.child({ part: 'bindings' }), deliverToApp: this.#bindingApps.deliver,
    }, bindingComponents(config)))
    registerBindingMetrics(this.#metrics, () => this.#bindings)
    // Subscriptions before the apps (their sessions queue from now on); stopped after the apps, before the broker.
    this.#lifecycle.add('subscriptions', async () => { await this.#subscriptions?.close() })
    this.#subscriptions = await this.#openSubscriptions(config)
    // Apps last: they expect the API (and the broker) to answer as soon as they start.
    this.#supervisor = await this.#lifecycle.start('apps', async () => new Supervisor({
      apps: config.apps,
      env: this.#appEnv(),
      appEnv: (app): Record<string, string> => {
        for (const [token, id] of this.#appTokens) if (id === app.id) return { DAPR_API_TOKEN: token }
        return {}
      },
      log: log.child({ part: 'apps' }),
      dataDir,
      metrics: this.#metrics,
    }))
    this.#supervisor.on('up', (app) => {
      // Probes gone with a reload (the app restarted without them): nothing will report it healthy again.
      if (app.health === undefined && app.healthPath === undefined) { this.#subscriptions.appHealthy(app); this.#bindingApps.resume(app.id) }
      this.#subscriptions.appStarted(app)
    })
    this.#supervisor.on('down', (app) => { this.#subscriptions.appStopped(app) })
    // Dapr's app-health semantics: while an app fails its probes it gets no deliveries (they queue), then the backlog.
    this.#supervisor.on('unhealthy', (app) => { this.#subscriptions.appUnhealthy(app); this.#bindingApps.pause(app.id) })
    this.#supervisor.on('healthy', (app) => { this.#subscriptions.appHealthy(app); this.#bindingApps.resume(app.id) })
    this.#supervisor.on('state', (st: { id?: string }) => { if (st?.id !== undefined) this.#emitStatus(`apps.${st.id}`, st as unknown as PartStatus) })
    this.#supervisor.start()
    this.#jobs.start()
    this.#cloud?.statusStream.on((st) => { this.#emitStatus('cloud', st) })
    if (config.memory.compactWhenIdle) {
      // Loaded only here, last: start-up's own garbage is the first thing it gives back, once the loop idles.
      const { IdleCompactor } = await import('./memory/idle-compaction.ts')
      await this.#lifecycle.start('idle-compaction', () => IdleCompactor.create({ log: log.child({ part: 'memory' }), metrics: this.#metrics }))
    }
    this.#phase = 'running'
    log.info({ id: config.id, version: VERSION, dataDir, ...flatAddresses(this.#addresses), ms: Date.now() - started }, 'mecha is running')
    // systemd (Type=notify): ready now, then watchdog pings while the runtime serves.
    this.#watchdog = await SystemdNotifier.create({ log: log.child({ part: 'systemd' }), healthy: () => this.#phase === 'running' })
    await this.#watchdog.ready('serving')
    this.#watchdog.start()
  }

  /** The built-in `statestore` and every `state.level` component, each in its own namespace. */
  async #startStateStores (): Promise<void> {
    // Whatever stores exist at stop are closed then (a reload may have added or removed some).
    this.#lifecycle.add('state', async () => {
      for (const store of this.#plainStores.values()) await store.close()
      this.#plainStores.clear()
      this.#stateStores.clear()
    })
    await this.#applyStateStores(this.#config)
  }

  /** Opens added `state.level` stores, closes removed ones, reopens changed ones (keyPrefix). */
  async #applyStateStores (config: MechaConfig): Promise<void> {
    const docs = new Map<string, Record<string, string>>([['statestore', {}]])
    for (const c of config.components) if (c.spec.type === 'state.level') docs.set(c.metadata.name, componentMetadata(c))
    const root = this.#store.namespace('state')
    for (const [name, store] of this.#plainStores) {
      const wanted = docs.get(name)
      if (wanted !== undefined && wanted.keyPrefix === this.#storePrefixes.get(name)) continue
      await store.close()
      this.#plainStores.delete(name)
      this.#storePrefixes.delete(name)
    }
    for (const [name, metadata] of docs) {
      if (this.#plainStores.has(name)) continue
      const store = await LevelStateStore.create({
        namespace: root.namespace(name),
        name,
        keyPrefix: metadata.keyPrefix,
        logger: this.#log.child({ part: 'state', store: name }),
      })
      this.#plainStores.set(name, store)
      this.#storePrefixes.set(name, metadata.keyPrefix)
    }
    this.#publishStores()
  }

  readonly #storePrefixes = new Map<string, string | undefined>()
  #shadow: { name: string; store: StateStore } | undefined

  /** What the API sees: the plain stores, with the one the cloud syncs replaced by its shadowing wrapper. */
  #publishStores (): void {
    this.#stateStores.clear()
    for (const [name, store] of this.#plainStores) this.#stateStores.set(name, this.#shadow?.name === name ? this.#shadow.store : store)
  }

  async #startCloud (): Promise<void> {
    await this.#openCloud(this.#config)
    this.#lifecycle.add('cloud', async () => { await this.#closeCloud() })
    registerCloudMetrics(this.#metrics, () => this.#cloud)
  }

  async #openCloud (config: MechaConfig): Promise<void> {
    const cloud = config.cloud
    this.#shadow = undefined
    if (cloud === undefined) { this.#publishStores(); return }
    let stateAccess: StateAccess | undefined
    if (cloud.stateSync !== undefined) {
      const target = this.#plainStores.get(cloud.stateSync.store)
      if (target === undefined) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `cloud.stateSync.store: no state store "${cloud.stateSync.store}"`)
      const shadowed = new ShadowedStateStore(target)
      this.#shadow = { name: cloud.stateSync.store, store: shadowed }
      stateAccess = shadowed.access()
    }
    this.#publishStores()
    // Loaded only when a cloud link is configured: a gateway without one never evaluates the bridge.
    const { CloudBridge } = await import('../cloud-bridge/index.ts')
    this.#cloud = await CloudBridge.create({
      config: cloud, nodeId: config.id, store: this.#store, bus: this.#broker, log: this.#log.child({ part: 'cloud' }), stateAccess,
    })
  }

  async #closeCloud (): Promise<void> {
    const bridge = this.#cloud
    this.#cloud = undefined
    await bridge?.close()
  }

  /**
   * A changed cloud link: the old one closes (its outbox stays on disk) and the new one opens on the same
   * outbox. Meanwhile every publish waits in an interceptor, before its ack, and goes on to the new link's
   * outbox interceptor once that is registered (the broker runs interceptors added while one waits): no
   * acknowledged publish on a forwarded topic misses the outbox.
   */
  async #reloadCloud (next: MechaConfig): Promise<void> {
    const { mayForward } = await import('../cloud-bridge/index.ts')
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    // Only what could go up waits: the closing bridge publishes its last status on the local bus and waits
    // for that publish, so holding it too would never let the close end.
    const off = this.#broker.intercept(async (msg) => { if (mayForward(msg)) await held })
    try {
      await this.#closeCloud()
      await this.#openCloud(next)
    } finally {
      release()
      off()
    }
  }

  #openSubscriptions (config: MechaConfig): Promise<SubscriptionManager> {
    return SubscriptionManager.create({
      connect: () => this.#broker.connectInternal(), bus: this.#broker, config, log: this.#log.child({ part: 'pubsub' }), pubsubMetrics: this.#pubsubMetrics, channels: this.#channels,
      // Which subscription sessions exist, so ones no app wants any more are ended after a restart too.
      registry: this.#store.namespace('pubsub'),
    })
  }

  /**
   * Subscriptions changed (documents, pub/subs, or the apps they deliver to): the manager is made anew from
   * the new config. Every subscription is a persistent MQTT session, so what is published meanwhile queues
   * and is delivered after; the sessions no app wants any more are ended by the new manager.
   */
  async #reloadSubscriptions (next: MechaConfig): Promise<void> {
    const prev = this.#subscriptions
    await prev.close()
    this.#subscriptions = await this.#openSubscriptions(next)
    for (const a of this.#supervisor?.status() ?? []) if (a.state.type === 'running') this.#subscriptions.appStarted(a.id)
  }

  /**
   * Hot reload (SIGHUP, the watched config file, the admin API): applies what changed between the config in
   * force and `next` (already parsed and validated), part by part in dependency order, touching nothing
   * else: connected MQTT clients stay, queued messages stay. Settings bound at start are reported in
   * `restartRequired` and not applied. If a part fails, the parts already changed go back to the previous
   * config and the previous config stays in force. Reloads run one at a time.
   */
  reconfigure (next: MechaConfig): Promise<ReloadResult> {
    const run = this.#reloading.then(() => this.#reconfigure(next))
    this.#reloading = run.catch(() => {})
    return run
  }

  async #reconfigure (next: MechaConfig): Promise<ReloadResult> {
    if (this.#phase !== 'running') throw new MechaError('MECHA_ERR_NOT_READY', `cannot reload while ${this.#phase}`)
    const started = Date.now()
    const prev = this.#config
    const diff = diffConfig(prev, next)
    // What a restart would apply stays as it is now, so the config in force is the old one for those keys.
    const applied = mergeRestartBound(prev, next, diff.restartRequired)
    const done: HotPart[] = []
    try {
      for (const part of diff.parts) {
        await this.#applyPart(part, applied, prev)
        done.push(part)
      }
    } catch (err) {
      this.#log.error({ err, part: diff.parts[done.length], changes: diff.changes }, 'reload failed: rolling back')
      for (const part of [...done, diff.parts[done.length]].reverse()) {
        try { await this.#applyPart(part, prev, applied) } catch (e) { this.#log.error({ err: e, part }, 'rollback of a part failed') }
      }
      throw new MechaError('MECHA_ERR_RELOAD_FAILED', `reload failed in ${diff.parts[done.length]}: ${(err as Error).message}; the previous config stays in force`, { cause: err })
    }
    this.#config = applied
    const ms = Date.now() - started
    this.#log.info({ changes: diff.changes, restartRequired: diff.restartRequired, ms }, diff.changes.length === 0 ? 'reload: nothing changed' : 'reloaded')
    return { changes: diff.changes, restartRequired: diff.restartRequired, parts: diff.parts, ms }
  }

  async #applyPart (part: HotPart, next: MechaConfig, prev: MechaConfig): Promise<void> {
    switch (part) {
      case 'log': this.#log.level = next.log.level; return
      case 'mqtt': this.#broker.reconfigure(next.mqtt); return
      case 'api': this.#api?.setToken(next.api.token); this.#grpc?.setToken(next.api.token); return
      case 'state': await this.#applyStateStores(next); return
      case 'cloud': await this.#reloadCloud(next); return
      case 'bindings': await this.#bindings?.reconfigure(bindingComponents(next)); return
      case 'subscriptions': await this.#reloadSubscriptions(next); return
      case 'apps':
        // An app added by the reload gets its own API token, as those present at start did.
        for (const app of next.apps) if (app.command !== undefined && ![...this.#appTokens.values()].includes(app.id)) this.#appTokens.set(randomBytes(24).toString('base64url'), app.id)
        await this.#supervisor.reconfigure(next.apps)
        return
    }
  }

  /**
   * Reads the config file again and applies it: what SIGHUP, a change of the watched file and the admin API
   * do. An invalid file is refused with every problem and its path, and the running config stays.
   */
  async reloadFromFile (why: string): Promise<ReloadOutcome> {
    const read = await readConfigFile(this.#opts.configFile, this.#opts.overrides, componentCatalog)
    if (!read.ok) {
      this.#log.error({ why, problems: read.problems }, 'reload refused: the config has problems; the running config stays')
      return { ok: false, problems: read.problems }
    }
    for (const w of read.warnings) this.#log.warn(w)
    try {
      return { ok: true, result: await this.reconfigure(read.config) }
    } catch (err) {
      return { ok: false, problems: [{ path: '(reload)', message: (err as Error).message }] }
    }
  }

  #emitStatus (part: string, status: PartStatus): void {
    const e: AdminStatusEvent = { part, status, at: new Date().toISOString() }
    for (const fn of this.#statusListeners) { try { fn(e) } catch {} }
  }

  /** What an app needs to find us, named as Dapr SDKs and MQTT apps expect. */
  #appEnv (): Record<string, string> {
    const api = this.#addresses.api!
    const env: Record<string, string> = {
      DAPR_HTTP_PORT: String(api.port),
      DAPR_HTTP_ENDPOINT: `http://127.0.0.1:${api.port}`,
      MECHA_MQTT_URL: `mqtt://127.0.0.1:${this.#addresses.mqtt!.port}`,
    }
    if (this.#addresses.grpc !== undefined) {
      env.DAPR_GRPC_PORT = String(this.#addresses.grpc.port)
      env.DAPR_GRPC_ENDPOINT = `http://127.0.0.1:${this.#addresses.grpc.port}`
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

  /**
   * The service layer both transports use (CONVENTIONS 14): HTTP routes and gRPC methods are thin adapters over
   * the same validation, limits, scoping and errors.
   */
  #makeServices (): Services {
    const rt = this
    return createServices({
      stores: (name) => this.#stateStores.get(name) as (StateStore & LockStore) | undefined,
      storeNames: () => [...this.#stateStores.keys()],
      get maxValueBytes () { return rt.config.state.maxValueBytes },
      bus: this.#broker,
      pubsubNames: this.#pubsubNames,
      get maxPayloadBytes () { return rt.config.mqtt.maxPayloadBytes },
      pubsubMetrics: this.#pubsubMetrics,
      apps: () => this.config.apps,
      channels: this.#channels,
      metadata: () => this.#metadata(),
      setExtended: (k, v) => { this.#extended.set(k, v) },
    })
  }

  /** The pub/sub names in force, computed once per config (a reload makes a new config object), not per publish. */
  #namesOf: { config: MechaConfig; names: string[] } | undefined
  #pubsubNames = (): string[] => {
    if (this.#namesOf?.config !== this.#config) this.#namesOf = { config: this.#config, names: pubsubNames(this.#config.components) }
    return this.#namesOf.names
  }

  #invokeBinding = async (name: string, op: string, data: unknown, md: Record<string, string>): Promise<{ data?: unknown; metadata?: Record<string, string> }> => {
    if (this.#bindings === undefined) throw new MechaError('ERR_BINDING_NOT_FOUND', `couldn't find output binding ${name}`)
    return await this.#bindings.invoke(name, op, data, md)
  }

  #shutdownRequested = (): void => {
    this.#log.info('shutdown requested through the API')
    this.stop().catch(() => {}).finally(() => this.#opts.onShutdownRequest?.())
  }

  #routes (s: Services): RoutePlugin[] {
    const stores = (name: string): StateStore | undefined => this.#stateStores.get(name)
    const storeNames = (): string[] => [...this.#stateStores.keys()]
    const appIdFor = (req: FastifyRequest): string => this.#appIdFor(req)
    const rt = this
    return [
      (app) => stateRoutes(app, { stores, storeNames, appIdFor, get maxValueBytes () { return rt.config.state.maxValueBytes }, stateService: s.state }),
      (app) => lockRoutes(app, { stores, storeNames, appIdFor, lockService: s.lock }),
      (app) => jobRoutes(app, { jobs: this.#jobs!, appIdFor }),
      (app) => bindingRoutes(app, { invoke: this.#invokeBinding }),
      (app) => publishRoutes(app, { bus: this.#broker, pubsubNames: this.#pubsubNames, appIdFor, get maxPayloadBytes () { return rt.config.mqtt.maxPayloadBytes }, metrics: this.#pubsubMetrics, publishService: s.publish }),
      (app) => invokeRoutes(app, { apps: () => this.config.apps, callerIdFor: appIdFor, runtimeId: this.config.id, invokeService: s.invoke }),
      (app) => healthRoutes(app, { phase: () => this.#phase, componentsReady: () => this.#phase === 'running' }),
      (app) => metadataRoutes(app, { metadata: () => this.#metadata(), setExtended: (k, v) => { this.#extended.set(k, v) }, metadataService: s.metadata }),
      (app) => shutdownRoutes(app, { shutdown: this.#shutdownRequested }),
    ]
  }

  async #metadata (): Promise<MetadataBody> {
    const b = this.#broker.stats()
    const bindings = new Map((this.#bindings?.status() ?? []).map((i) => [i.name, i]))
    const extended: Record<string, string> = {
      'mecha.version': VERSION,
      'mecha.build': BUILD.commit,
      'mecha.phase': this.#phase,
      'mqtt.clients': String(b.clients),
      'mqtt.messagesIn': String(b.messagesIn),
      'mqtt.messagesOut': String(b.messagesOut),
      'mqtt.rejected': String(b.rejected),
      'mqtt.address': this.#addresses.mqtt === undefined ? '' : `${this.#addresses.mqtt.host}:${this.#addresses.mqtt.port}`,
      'store.bytes': String(await this.#store.approximateSize()),
      ...cloudExtended(this.#cloud),
      ...Object.fromEntries(this.#supervisor?.status().map((a) => [`app.${a.id}`, `${a.state.type}, ${a.restarts} restarts`]) ?? []),
      ...bindingExtended(bindings.values()),
      ...subscriptionExtended(this.#config.apps.map((a) => a.id), this.#subscriptions),
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
        ...this.config.components.map((c) => ({ name: c.metadata.name, type: c.spec.type, version: c.spec.version, capabilities: c.spec.type === 'state.level' ? STATE_CAPABILITIES : bindingCapabilities(bindings.get(c.metadata.name)?.manifest) })),
      ],
      httpEndpoints: [],
      // Declarative and programmatic alike, as Dapr lists them; the app each one delivers to is in `metadata`.
      subscriptions: this.#subscriptions.list().map(({ appId, ...s }) => ({ ...s, metadata: { ...s.metadata, 'mecha.appId': appId } })),
      appConnectionProperties: {},
      extended,
    }
  }

  /** Graceful stop in reverse start order, bounded to ~4.5 s so SIGTERM finishes within 5 s. Idempotent. */
  async stop (): Promise<void> {
    if (this.#phase === 'stopped') return
    this.#phase = 'stopping'
    await this.#watchdog?.stop().catch(() => {})
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
