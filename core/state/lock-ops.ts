/**
 * The lock API on a state store (docs.dapr.io/reference/api/distributed_lock_api): a lock is a record with
 * its owner and expiry, taken only when absent or expired; an expired lock counts as absent at once and the
 * TTL sweeper reclaims it through the same expiry index as state values.
 */
import type { BatchOp } from '../store/index.ts'
import { MechaError } from '../errors.ts'
import { expiryKey, isLive } from './records.ts'
import { lockLockKey, type StateSpaces } from './spaces.ts'
import type { TryLockRequest, UnlockRequest, UnlockStatus } from './types.ts'

function nonEmpty (v: unknown, what: string): void {
  if (typeof v !== 'string' || v === '') throw new MechaError('ERR_MALFORMED_REQUEST', `${what} is empty`)
}

export function checkTryLock (req: TryLockRequest): void {
  nonEmpty(req?.resourceId, 'ResourceId')
  nonEmpty(req.lockOwner, 'LockOwner')
  const e = req.expiryInSeconds
  if (typeof e !== 'number' || !Number.isSafeInteger(e) || e <= 0) {
    throw new MechaError('ERR_MALFORMED_REQUEST', 'ExpiryInSeconds is not positive')
  }
}

export function checkUnlock (req: UnlockRequest): void {
  nonEmpty(req?.resourceId, 'ResourceId')
  nonEmpty(req.lockOwner, 'LockOwner')
}

export async function tryLock (s: StateSpaces, req: TryLockRequest): Promise<boolean> {
  const key = req.resourceId
  return await s.mutex.run([lockLockKey(key)], async () => {
    const now = s.clock.now()
    const old = await s.locks.get(key)
    if (isLive(old, now)) return false
    const x = now + req.expiryInSeconds * 1000
    const ops: Array<BatchOp<any>> = []
    // Ops apply in order: drop the stale index entry before adding the new one (they may coincide).
    if (old !== undefined) ops.push({ type: 'del', key: expiryKey(old.x, 'l', key), ns: s.ttl })
    ops.push({ type: 'put', key, value: { o: req.lockOwner, x } }, { type: 'put', key: expiryKey(x, 'l', key), value: 1, ns: s.ttl })
    await s.locks.batch(ops)
    return true
  })
}

export async function unlock (s: StateSpaces, req: UnlockRequest): Promise<UnlockStatus> {
  const key = req.resourceId
  return await s.mutex.run([lockLockKey(key)], async () => {
    const now = s.clock.now()
    const old = await s.locks.get(key)
    if (old === undefined || !isLive(old, now)) return 1
    if (old.o !== req.lockOwner) return 2
    await s.locks.batch([{ type: 'del', key }, { type: 'del', key: expiryKey(old.x, 'l', key), ns: s.ttl }])
    return 0
  })
}
