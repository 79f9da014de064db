/**
 * The Dapr distributed lock building block (docs.dapr.io/reference/api/distributed_lock_api), alpha, without a
 * transport: resource ids are scoped like state keys (`<appId>||<resourceId>`, per the store's keyPrefix);
 * unlock answers Dapr's status 0 SUCCESS | 1 LOCK_DOES_NOT_EXIST | 2 LOCK_BELONGS_TO_OTHERS | 3 INTERNAL_ERROR.
 */
import { MechaError } from '../../core/errors.ts'
import type { LockStore } from '../../core/state/index.ts'
import type { Caller } from './caller.ts'

export interface LockServiceDeps {
  stores: (name: string) => LockStore | undefined
  storeNames: () => string[]
}

export interface TryLockInput { resourceId: unknown; lockOwner: unknown; expiryInSeconds: unknown }

function failure (err: unknown, code: 'ERR_TRY_LOCK' | 'ERR_UNLOCK', store: string): MechaError {
  if (err instanceof MechaError && err.status < 500) return err
  return new MechaError(code, `failed to ${code === 'ERR_TRY_LOCK' ? 'try acquiring lock' : 'release lock'} in lock store ${store}: ${(err as Error)?.message}`, { cause: err })
}

export class LockService {
  readonly #d: LockServiceDeps

  constructor (deps: LockServiceDeps) { this.#d = deps }

  store (name: string): LockStore {
    if (this.#d.storeNames().length === 0) throw new MechaError('ERR_LOCK_STORE_NOT_CONFIGURED', 'lock store is not configured')
    const store = this.#d.stores(name)
    if (store === undefined) throw new MechaError('ERR_LOCK_STORE_NOT_FOUND', `lock store ${name} not found`)
    return store
  }

  #resource (store: LockStore, appId: string, id: unknown): string {
    if (typeof id !== 'string' || id === '') throw new MechaError('ERR_MALFORMED_REQUEST', `ResourceId is empty in lock store ${store.name}`)
    return store.keyScope.scoped(appId, id)
  }

  async tryLock (caller: Caller, storeName: string, req: TryLockInput): Promise<boolean> {
    const store = this.store(storeName)
    const resourceId = this.#resource(store, caller.appId, req.resourceId)
    try {
      return await store.tryLock({ resourceId, lockOwner: req.lockOwner as string, expiryInSeconds: req.expiryInSeconds as number })
    } catch (err) { throw failure(err, 'ERR_TRY_LOCK', store.name) }
  }

  async unlock (caller: Caller, storeName: string, req: Omit<TryLockInput, 'expiryInSeconds'>): Promise<number> {
    const store = this.store(storeName)
    const resourceId = this.#resource(store, caller.appId, req.resourceId)
    try {
      return await store.unlock({ resourceId, lockOwner: req.lockOwner as string })
    } catch (err) { throw failure(err, 'ERR_UNLOCK', store.name) }
  }
}
