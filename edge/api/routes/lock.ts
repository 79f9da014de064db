/**
 * The Dapr distributed lock API (docs.dapr.io/reference/api/distributed_lock_api), alpha:
 * `POST /v1.0-alpha1/lock/{store}` {resourceId, lockOwner, expiryInSeconds} → {success} and
 * `POST /v1.0-alpha1/unlock/{store}` {resourceId, lockOwner} → {status: 0 | 1 | 2 | 3}.
 * Resource ids are scoped like state keys (`<appId>||<resourceId>`, per the store's keyPrefix).
 * Register it in its own scope: `app.register((scope) => lockRoutes(scope, deps))`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MechaError } from '../../../core/errors.ts'
import type { LockStore } from '../../../core/state/index.ts'
import { isObject, jsonBody } from './state/body.ts'

export interface LockRouteDeps {
  stores: (name: string) => LockStore | undefined
  storeNames: () => string[]
  appIdFor: (req: FastifyRequest) => string
}

type StoreParams = { Params: { storeName: string } }

function lockBody (req: FastifyRequest): Record<string, unknown> {
  const body = jsonBody(req)
  if (!isObject(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be a JSON object')
  return body
}

function resource (store: LockStore, appId: string, id: unknown): string {
  if (typeof id !== 'string' || id === '') throw new MechaError('ERR_MALFORMED_REQUEST', `ResourceId is empty in lock store ${store.name}`)
  return store.keyScope.scoped(appId, id)
}

function failure (err: unknown, code: 'ERR_TRY_LOCK' | 'ERR_UNLOCK', store: string): MechaError {
  if (err instanceof MechaError && err.status < 500) return err
  return new MechaError(code, `failed to ${code === 'ERR_TRY_LOCK' ? 'try acquiring lock' : 'release lock'} in lock store ${store}: ${(err as Error)?.message}`, { cause: err })
}

export async function lockRoutes (app: FastifyInstance, deps: LockRouteDeps): Promise<void> {
  const storeFor = (name: string): LockStore => {
    if (deps.storeNames().length === 0) throw new MechaError('ERR_LOCK_STORE_NOT_CONFIGURED', 'lock store is not configured')
    const store = deps.stores(name)
    if (store === undefined) throw new MechaError('ERR_LOCK_STORE_NOT_FOUND', `lock store ${name} not found`)
    return store
  }

  app.post<StoreParams>('/v1.0-alpha1/lock/:storeName', async (req) => {
    const store = storeFor(req.params.storeName)
    const body = lockBody(req)
    const resourceId = resource(store, deps.appIdFor(req), body.resourceId)
    try {
      return { success: await store.tryLock({ resourceId, lockOwner: body.lockOwner as string, expiryInSeconds: body.expiryInSeconds as number }) }
    } catch (err) { throw failure(err, 'ERR_TRY_LOCK', store.name) }
  })

  app.post<StoreParams>('/v1.0-alpha1/unlock/:storeName', async (req) => {
    const store = storeFor(req.params.storeName)
    const body = lockBody(req)
    const resourceId = resource(store, deps.appIdFor(req), body.resourceId)
    try {
      return { status: await store.unlock({ resourceId, lockOwner: body.lockOwner as string }) }
    } catch (err) { throw failure(err, 'ERR_UNLOCK', store.name) }
  })
}
