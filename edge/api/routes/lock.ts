/**
 * The Dapr distributed lock API (docs.dapr.io/reference/api/distributed_lock_api), alpha:
 * `POST /v1.0-alpha1/lock/{store}` {resourceId, lockOwner, expiryInSeconds} → {success} and
 * `POST /v1.0-alpha1/unlock/{store}` {resourceId, lockOwner} → {status: 0 | 1 | 2 | 3}.
 * A thin adapter over the LockService (shared with gRPC), which scopes resource ids like state keys.
 * Register it in its own scope: `app.register((scope) => lockRoutes(scope, deps))`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MechaError } from '../../../core/errors.ts'
import type { LockStore } from '../../../core/state/index.ts'
import { LockService } from '../../services/lock-service.ts'
import { isObject, jsonBody } from './state/body.ts'

export interface LockRouteDeps {
  stores: (name: string) => LockStore | undefined
  storeNames: () => string[]
  appIdFor: (req: FastifyRequest) => string
  lockService?: LockService
}

type StoreParams = { Params: { storeName: string } }

function lockBody (req: FastifyRequest): Record<string, unknown> {
  const body = jsonBody(req)
  if (!isObject(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be a JSON object')
  return body
}

export async function lockRoutes (app: FastifyInstance, deps: LockRouteDeps): Promise<void> {
  const svc = deps.lockService ?? new LockService(deps)

  app.post<StoreParams>('/v1.0-alpha1/lock/:storeName', async (req) => {
    svc.store(req.params.storeName)
    const body = lockBody(req)
    return { success: await svc.tryLock({ appId: deps.appIdFor(req) }, req.params.storeName, body as never) }
  })

  app.post<StoreParams>('/v1.0-alpha1/unlock/:storeName', async (req) => {
    svc.store(req.params.storeName)
    const body = lockBody(req)
    return { status: await svc.unlock({ appId: deps.appIdFor(req) }, req.params.storeName, body as never) }
  })
}
