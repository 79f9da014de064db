/**
 * The Dapr state API (docs.dapr.io/reference/api/state_api) as a fastify plugin: save, get, delete, bulk get,
 * transactions and the alpha query API. A thin adapter (CONVENTIONS 14): it reads paths, headers and JSON
 * bodies and renders Dapr's statuses; validation, key scoping and errors are the StateService's, shared with
 * the gRPC API. Register it in its own scope: `app.register((scope) => stateRoutes(scope, deps))`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { MechaError } from '../../../core/errors.ts'
import type { StateStore } from '../../../core/state/index.ts'
import { StateService } from '../../services/state-service.ts'
import { isObject, jsonBody } from './state/body.ts'
import { queryMetadata } from '../query-metadata.ts'
import { expireTime, jsonData, responseBody } from '../../services/state/values.ts'

export interface StateRouteDeps {
  stores: (name: string) => StateStore | undefined
  storeNames: () => string[]
  /** The calling app: the `dapr-app-id` header, the supervised app, or the runtime id. */
  appIdFor: (req: FastifyRequest) => string
  /** The largest value one key may hold, in bytes (of its JSON, or raw bytes). */
  maxValueBytes: number
  /** The service to adapt; made from the fields above when absent (the runtime may share one with gRPC). */
  stateService?: StateService
}

type StoreParams = { Params: { storeName: string } }
type KeyParams = { Params: { storeName: string; '*': string } }

export async function stateRoutes (app: FastifyInstance, deps: StateRouteDeps): Promise<void> {
  const svc = deps.stateService ?? new StateService(deps)
  const caller = (req: FastifyRequest): { appId: string } => ({ appId: deps.appIdFor(req) })

  // Save: an array of state objects, all validated first, then written in one atomic batch.
  app.post<StoreParams>('/v1.0/state/:storeName', async (req, reply) => {
    svc.store(req.params.storeName)
    const body = jsonBody(req)
    if (!Array.isArray(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be a JSON array of state objects')
    await svc.save(caller(req), req.params.storeName, body, queryMetadata(req.query))
    return await reply.status(204).send()
  })

  app.get<KeyParams>('/v1.0/state/:storeName/*', async (req, reply) => {
    const item = await svc.get(caller(req), req.params.storeName, req.params['*'])
    if (item === undefined) return await reply.status(204).send()
    const { body, type } = responseBody(item.value, item.contentType)
    void reply.header('ETag', item.etag).header('content-type', type)
    if (item.expiresAt !== undefined) void reply.header('metadata.ttlExpireTime', expireTime(item.expiresAt))
    return await reply.status(200).send(body)
  })

  app.delete<KeyParams>('/v1.0/state/:storeName/*', async (req, reply) => {
    svc.store(req.params.storeName)
    const ifMatch = req.headers['if-match']
    const q = req.query as Record<string, unknown>
    await svc.delete(caller(req), req.params.storeName, { key: req.params['*'], ...(typeof ifMatch === 'string' ? { etag: ifMatch } : {}), concurrency: q.concurrency })
    return await reply.status(204).send()
  })

  app.post<StoreParams>('/v1.0/state/:storeName/bulk', async (req, reply) => {
    svc.store(req.params.storeName)
    const body = jsonBody(req) ?? {}
    if (!isObject(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be an object with "keys"')
    const keys = body.keys ?? []
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw new MechaError('ERR_MALFORMED_REQUEST', '"keys" must be an array of strings')
    if (body.parallelism !== undefined && typeof body.parallelism !== 'number') throw new MechaError('ERR_MALFORMED_REQUEST', '"parallelism" must be a number')
    const found = await svc.bulkGet(caller(req), req.params.storeName, keys as string[])
    return await reply.status(200).send(found.map(({ key, item }) => {
      if (item === undefined) return { key }
      const metadata: Record<string, string> = {}
      if (item.expiresAt !== undefined) metadata.ttlExpireTime = expireTime(item.expiresAt)
      if (item.contentType !== undefined) metadata.contentType = item.contentType
      return { key, data: jsonData(item.value, item.contentType), etag: item.etag, ...(Object.keys(metadata).length > 0 ? { metadata } : {}) }
    }))
  })

  app.post<StoreParams>('/v1.0/state/:storeName/transaction', async (req, reply) => {
    svc.store(req.params.storeName)
    await svc.transact(caller(req), req.params.storeName, jsonBody(req), queryMetadata(req.query))
    return await reply.status(204).send()
  })

  app.post<StoreParams>('/v1.0-alpha1/state/:storeName/query', async (req: FastifyRequest<StoreParams>, reply: FastifyReply) => {
    svc.store(req.params.storeName)
    const result = await svc.query(caller(req), req.params.storeName, jsonBody(req))
    return await reply.status(200).send({
      results: result.results.map((r) => ({ key: r.key, data: jsonData(r.value, r.contentType), etag: r.etag })),
      ...(result.token !== undefined ? { token: result.token } : {}),
    })
  })
}
