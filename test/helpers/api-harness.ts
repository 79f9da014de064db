/**
 * A Dapr-API test server for the state and lock routes: state stores over a Store, the routes, Dapr's error
 * bodies, the token check and a `/v1.0/metadata` stub (Dapr SDKs poll it for readiness). `kind: 'minimal'`
 * builds a bare fastify with the same error rendering as the API server; `kind: 'server'` uses the real
 * edge/api/server.ts, so the routes are also tested as the runtime serves them.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { createLogger } from '../../core/logger.ts'
import { MechaError } from '../../core/errors.ts'
import type { Clock } from '../../core/clock.ts'
import { LevelStateStore } from '../../core/state/index.ts'
import { MemoryStore, type Store } from '../../core/store/index.ts'
import { ApiServer } from '../../edge/api/server.ts'
import { stateRoutes, type StateRouteDeps } from '../../edge/api/routes/state.ts'
import { lockRoutes } from '../../edge/api/routes/lock.ts'

export interface HarnessOptions {
  kind?: 'minimal' | 'server'
  /** The Store under the state stores; a fresh MemoryStore by default (closed with the harness). */
  store?: Store
  clock?: Clock
  token?: string
  maxValueBytes?: number
  maxBodyBytes?: number
  /** Extra state stores: name → keyPrefix. `statestore` (keyPrefix appid) always exists. */
  extraStores?: Record<string, string>
  runtimeId?: string
}

export interface Harness {
  app: FastifyInstance
  stores: Map<string, LevelStateStore>
  store: Store
  /** Listens on 127.0.0.1, port 0; resolves to the port. */
  listen(): Promise<number>
  close(): Promise<void>
}

const quiet = createLogger({ level: 'silent' })

function renderErrors (app: FastifyInstance): void {
  app.setErrorHandler((err: any, _req, reply) => {
    if (err instanceof MechaError) return reply.status(err.status).send(err.toJSON())
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ errorCode: 'ERR_BODY_TOO_LARGE', message: err.message })
    if (typeof err.statusCode === 'number' && err.statusCode < 500) return reply.status(400).send({ errorCode: 'ERR_MALFORMED_REQUEST', message: err.message })
    return reply.status(500).send({ errorCode: 'ERR_INTERNAL', message: String(err.message) })
  })
}

export async function createHarness (o: HarnessOptions = {}): Promise<Harness> {
  const ownStore = o.store === undefined
  const store = o.store ?? await MemoryStore.create()
  const stores = new Map<string, LevelStateStore>()
  const specs: Record<string, string | undefined> = { statestore: undefined, ...o.extraStores }
  for (const [name, keyPrefix] of Object.entries(specs)) {
    stores.set(name, await LevelStateStore.create({ namespace: store.namespace(`state-${name}`), name, keyPrefix, clock: o.clock }))
  }
  const runtimeId = o.runtimeId ?? 'test-gw'
  const deps: StateRouteDeps = {
    stores: (n) => stores.get(n),
    storeNames: () => [...stores.keys()],
    appIdFor: (req: FastifyRequest) => {
      const h = req.headers['dapr-app-id']
      return typeof h === 'string' && h !== '' ? h : runtimeId
    },
    maxValueBytes: o.maxValueBytes ?? 64 * 1024,
  }
  const metadata = async (app: FastifyInstance): Promise<void> => {
    app.get('/v1.0/metadata', async () => ({ id: runtimeId, runtimeVersion: 'test', components: [...stores.keys()].map((name) => ({ name, type: 'state.level', version: 'v1' })) }))
  }
  const routes = [metadata, (app: FastifyInstance) => stateRoutes(app, deps), (app: FastifyInstance) => lockRoutes(app, deps)]
  let app: FastifyInstance
  let server: ApiServer | undefined
  if (o.kind === 'server') {
    server = await ApiServer.create({ host: '127.0.0.1', port: 0, token: o.token, maxBodyBytes: o.maxBodyBytes ?? 1024 * 1024, log: quiet }, routes)
    app = server.app
  } else {
    app = Fastify({ bodyLimit: o.maxBodyBytes ?? 1024 * 1024, routerOptions: { maxParamLength: 1024 } })
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => { done(null, body) })
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => { done(null, body) })
    renderErrors(app)
    if (o.token !== undefined) {
      app.addHook('onRequest', async (req) => {
        if (req.headers['dapr-api-token'] !== o.token) throw new MechaError('ERR_API_UNAUTHORIZED', 'missing or wrong dapr-api-token')
      })
    }
    for (const r of routes) await app.register(async (scope) => { await r(scope) })
  }
  await app.ready()
  let closed = false
  return {
    app,
    stores,
    store,
    async listen () {
      if (server !== undefined) return (await server.listen()).port
      await app.listen({ host: '127.0.0.1', port: 0 })
      return (app.server.address() as { port: number }).port
    },
    async close () {
      if (closed) return
      closed = true
      if (server !== undefined) await server.close(); else await app.close()
      for (const s of stores.values()) await s.close()
      if (ownStore) await store.close()
    },
  }
}
