/** The namespaces and shared machinery one state store works on; handed to the helpers that do its I/O. */
import type { Clock } from '../clock.ts'
import type { Namespace } from '../store/index.ts'
import type { KeyedMutex } from '../keyed-mutex.ts'
import type { LockRecord, StateRecord } from './records.ts'

export interface StateSpaces {
  /** key → StateRecord */
  data: Namespace<StateRecord>
  /** expiry index: `<expiry>|<kind>|<key>` → 1 */
  ttl: Namespace<number>
  /** resourceId → LockRecord */
  locks: Namespace<LockRecord>
  mutex: KeyedMutex
  clock: Clock
}

/** Mutex keys: state keys and lock ids live in one KeyedMutex, apart. */
export const stateLockKey = (key: string): string => `s:${key}`
export const lockLockKey = (key: string): string => `l:${key}`
