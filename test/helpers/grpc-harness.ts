/**
 * The Dapr APIs in-process for gRPC tests: state stores over a MemoryStore, an aedes bus, the services, and
 * both transports over the same services — the gRPC server (edge/grpc/server.ts) and the HTTP routes (the real
 * ApiServer) — so a test can compare them. Subscriptions deliver through a SubscriptionManager when `apps` are
 * given. Everything on 127.0.0.1, port 0.
 */
import { connect } from 'node:net'
import type { AppConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { LevelStateStore } from '../../core/state/index.ts'
import { MemoryStore, type Store } from '../../core/store/index.ts'
import { ApiServer } from '../../edge/api/server.ts'
import { stateRoutes } from '../../edge/api/routes/state.ts'
import { metadataRoutes } from '../../edge/api/routes/metadata.ts'
import { publishRoutes } from '../../edge/pubsub/publish-routes.ts'
import { invokeRoutes } from '../../edge/invoke/invoke-routes.ts'
import { AppChannels } from '../../edge/invoke/app-channels.ts'
import { SubscriptionManager } from '../../edge/pubsub/subscription-manager.ts'
import { GrpcServer } from '../../edge/grpc/server.ts'
import type { BindingInvoker } from '../../edge/grpc/dapr-methods.ts'
import { createServices, type Services } from '../../edge/grpc/services.ts'
import { AedesBus } from './aedes-bus.ts'

export interface GrpcHarnessOptions {
  token?: string
  appTokens?: Map<string, string>
  apps?: AppConfig[]
  bindings?: BindingInvoker
  maxMessageBytes?: number
  runtimeId?: string
}

export interface GrpcHarness {
  grpcPort: number
  httpPort: number
  bus: AedesBus
  stores: Map<string, LevelStateStore>
  services: Services
  subscriptions?: SubscriptionManager
  close(): Promise<void>
}

const quiet = createLogger({ level: 'silent' })

/** An app as the config parser would default it. */
export function appConfig (id: string, appPort: number, appProtocol: 'http' | 'grpc' = 'grpc'): AppConfig {
  return {
    id, appPort, appHost: '127.0.0.1', appProtocol, args: [], env: {}, restart: 'never', dependsOn: [],
    backoff: { initialMs: 500, maxMs: 30_000, resetAfterMs: 30_000 }, crashLoop: { failures: 5, windowMs: 60_000 },
    stopGraceMs: 1000, logs: { maxBytes: 1_048_576, files: 3 }, invoke: { timeoutMs: 5000, maxRetries: 3, retryIntervalMs: 100 },
  } as unknown as AppConfig
}

export async function createGrpcHarness (o: GrpcHarnessOptions = {}): Promise<GrpcHarness> {
  const store: Store = await MemoryStore.create()
  const stores = new Map<string, LevelStateStore>()
  stores.set('statestore', await LevelStateStore.create({ namespace: store.namespace('state-statestore'), name: 'statestore' }))
  const bus = await AedesBus.create()
  const runtimeId = o.runtimeId ?? 'test-gw'
  const apps = o.apps ?? []
  const channels = new AppChannels()
  const extended = new Map<string, string>()
  const services = createServices({
    stores: (n) => stores.get(n),
    storeNames: () => [...stores.keys()],
    maxValueBytes: 64 * 1024,
    bus,
    pubsubNames: () => ['pubsub'],
    maxPayloadBytes: 256 * 1024,
    apps: () => apps,
    channels,
    metadata: async () => ({ id: runtimeId, runtimeVersion: 'test', enabledFeatures: [], actorRuntime: { runtimeStatus: 'DISABLED', activeActors: [], hostReady: false, placement: '' }, components: [{ name: 'statestore', type: 'state.level', version: 'v1', capabilities: [] }], httpEndpoints: [], subscriptions: [], appConnectionProperties: {}, extended: Object.fromEntries(extended) }),
    setExtended: (k, v) => { extended.set(k, v) },
  })
  const grpc = await GrpcServer.create({ host: '127.0.0.1', port: 0, token: o.token, appTokens: o.appTokens, runtimeId, log: quiet, maxMessageBytes: o.maxMessageBytes, services: { ...services, ...(o.bindings ? { bindings: o.bindings } : {}) } })
  const grpcPort = (await grpc.listen()).port
  const appIdFor = (req: { headers: Record<string, unknown> }): string => { const h = req.headers['dapr-app-id']; return typeof h === 'string' && h !== '' ? h : runtimeId }
  const http = await ApiServer.create({ host: '127.0.0.1', port: 0, token: o.token, maxBodyBytes: 1024 * 1024, log: quiet }, [
    (app) => stateRoutes(app, { stores: (n) => stores.get(n), storeNames: () => [...stores.keys()], appIdFor, maxValueBytes: 64 * 1024, stateService: services.state }),
    (app) => publishRoutes(app, { bus, pubsubNames: () => ['pubsub'], appIdFor, maxPayloadBytes: 256 * 1024, publishService: services.publish }),
    (app) => metadataRoutes(app, { metadata: () => services.metadata.get(), setExtended: () => {}, metadataService: services.metadata }),
    (app) => invokeRoutes(app, { apps: () => apps, callerIdFor: appIdFor, runtimeId, invokeService: services.invoke }),
  ])
  const httpPort = (await http.listen()).port
  let subscriptions: SubscriptionManager | undefined
  if (apps.length > 0) {
    subscriptions = await SubscriptionManager.create({
      connect: () => connect(bus.port, '127.0.0.1'), bus, config: { apps, subscriptions: [], components: [] }, log: quiet, channels,
      discovery: { minDelayMs: 20, maxDelayMs: 200 }, delivery: { retry: { initialIntervalMs: 20, maxIntervalMs: 50, maxRetries: 5 } as never },
    })
  }
  return {
    grpcPort, httpPort, bus, stores, services, subscriptions,
    async close () {
      await subscriptions?.close()
      await grpc.close()
      await http.close()
      await channels.close()
      for (const s of stores.values()) await s.close()
      await bus.close()
      await store.close()
    },
  }
}
