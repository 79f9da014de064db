/**
 * The Dapr state API (docs.dapr.io/reference/api/state_api) as a fastify plugin: save, get, delete, bulk get,
 * transactions and the alpha query API. Routes validate and scope keys (`<appId>||<key>`, per the store's
 * keyPrefix) and answer Dapr's statuses and `{errorCode, message}` bodies; the StateStore does the I/O.
 * Register it in its own scope: `app.register((scope) => stateRoutes(scope, deps))`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { MechaError } from '../../../core/errors.ts'
import type { StateStore } from '../../../core/state/index.ts'
import { concurrencyFrom, isObject, jsonBody } from './state/body.ts'
import { queryMetadata } from '../query-metadata.ts'
import { stateFailure } from './state/errors.ts'
import { setRequest, transactionOps, type ItemContext } from './state/requests.ts'
import { expireTime, jsonData, responseBody } from './state/values.ts'

export interface StateRouteDeps {
  stores: (name: string) => StateStore | undefined
  storeNames: () => string[]
  /** The calling app: the `dapr-app-id` header, the supervised app, or the runtime id. */
  appIdFor: (req: FastifyRequest) => string
  /** The largest value one key may hold, in bytes (of its JSON, or raw bytes). */
  maxValueBytes: number
}

type StoreParams = { Params: { storeName: string } }
type KeyParams = { Params: { storeName: string; '*': string } }

export async function stateRoutes (app: FastifyInstance, deps: StateRouteDeps): Promise<void> {
  const storeFor = (name: string): StateStore => {
    if (deps.storeNames().length === 0) throw new MechaError('ERR_STATE_STORE_NOT_CONFIGURED', 'state store is not configured')
    const store = deps.stores(name)
    if (store === undefined) throw new MechaError('ERR_STATE_STORE_NOT_FOUND', `state store ${name} is not found`)
    return store
  }
  const context = (req: FastifyRequest, store: StateStore): ItemContext =>
    ({ scope: store.keyScope, appId: deps.appIdFor(req), urlMeta: queryMetadata(req.query), maxValueBytes: deps.maxValueBytes })

  // Save: an array of state objects, all validated first, then written in one atomic batch.
  app.post<StoreParams>('/v1.0/state/:storeName', async (req, reply) => {
    const store = storeFor(req.params.storeName)
    const body = jsonBody(req)
    if (!Array.isArray(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be a JSON array of state objects')
    const ctx = context(req, store)
    const ops = body.map((item, i) => ({ operation: 'upsert' as const, ...setRequest(item, `state[${i}]`, ctx) }))
    try { await store.transact(ops) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_SAVE', `failed saving state in state store ${store.name}`)
    }
    return await reply.status(204).send()
  })

  app.get<KeyParams>('/v1.0/state/:storeName/*', async (req, reply) => {
    const store = storeFor(req.params.storeName)
    const key = req.params['*']
    const scoped = store.keyScope.scoped(deps.appIdFor(req), key)
    let item
    try { item = await store.get(scoped) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_GET', `fail to get ${key} from state store ${store.name}`)
    }
    if (item === undefined) return await reply.status(204).send()
    const { body, type } = responseBody(item.value, item.contentType)
    void reply.header('ETag', item.etag).header('content-type', type)
    if (item.expiresAt !== undefined) void reply.header('metadata.ttlExpireTime', expireTime(item.expiresAt))
    return await reply.status(200).send(body)
  })

  app.delete<KeyParams>('/v1.0/state/:storeName/*', async (req, reply) => {
    const store = storeFor(req.params.storeName)
    const key = req.params['*']
    const scoped = store.keyScope.scoped(deps.appIdFor(req), key)
    const ifMatch = req.headers['if-match']
    const q = req.query as Record<string, unknown>
    const concurrency = concurrencyFrom(q.concurrency, 'delete')
    try {
      await store.delete({ key: scoped, ...(typeof ifMatch === 'string' && ifMatch !== '' ? { etag: ifMatch } : {}), ...(concurrency ? { concurrency } : {}) })
    } catch (err) {
      throw stateFailure(err, 'ERR_STATE_DELETE', `failed deleting state with key ${key}`)
    }
    return await reply.status(204).send()
  })

  app.post<StoreParams>('/v1.0/state/:storeName/bulk', async (req, reply) => {
    const store = storeFor(req.params.storeName)
    const body = jsonBody(req) ?? {}
    if (!isObject(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be an object with "keys"')
    const keys = body.keys ?? []
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw new MechaError('ERR_MALFORMED_REQUEST', '"keys" must be an array of strings')
    if (body.parallelism !== undefined && typeof body.parallelism !== 'number') throw new MechaError('ERR_MALFORMED_REQUEST', '"parallelism" must be a number')
    const appId = deps.appIdFor(req)
    const scoped = (keys as string[]).map((k) => store.keyScope.scoped(appId, k))
    let items
    // One multi-get answers all keys at once, so `parallelism` has nothing to tune here.
    try { items = await store.bulkGet(scoped) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_BULK_GET', `failed getting state in bulk from state store ${store.name}`)
    }
    return await reply.status(200).send((keys as string[]).map((key, i) => {
      const item = items[i]
      if (item === undefined) return { key }
      const metadata: Record<string, string> = {}
      if (item.expiresAt !== undefined) metadata.ttlExpireTime = expireTime(item.expiresAt)
      if (item.contentType !== undefined) metadata.contentType = item.contentType
      return { key, data: jsonData(item.value, item.contentType), etag: item.etag, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) }
    }))
  })

  app.post<StoreParams>('/v1.0/state/:storeName/transaction', async (req, reply) => {
    const store = storeFor(req.params.storeName)
    const ops = transactionOps(jsonBody(req), context(req, store))
    try { await store.transact(ops) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_TRANSACTION', 'error while executing state transaction')
    }
    return await reply.status(204).send()
  })

  app.post<StoreParams>('/v1.0-alpha1/state/:storeName/query', async (req: FastifyRequest<StoreParams>, reply: FastifyReply) => {
    const store = storeFor(req.params.storeName)
    const query = jsonBody(req)
    if (query === undefined) throw new MechaError('ERR_MALFORMED_REQUEST', 'the query body is required')
    let result
    try { result = await store.query(query as never, { prefix: store.keyScope.prefixFor(deps.appIdFor(req)) }) } catch (err) {
      throw stateFailure(err, 'ERR_STATE_QUERY', `failed query in state store ${store.name}`)
    }
    return await reply.status(200).send({
      results: result.results.map((r) => ({ key: store.keyScope.original(r.key), data: jsonData(r.value, r.contentType), etag: r.etag })),
      ...(result.token !== undefined ? { token: result.token } : {}),
    })
  })
}
