export type {
  Concurrency, DeleteRequest, LockStore, QueryFilter, QueryOptions, QueryResult, SetRequest, StateItem, StateQuery,
  StateStore, TransactionOp, TryLockRequest, UnlockRequest, UnlockStatus,
} from './types.ts'
export { KeyScope, KEY_SEPARATOR, type KeyPrefixStrategy } from './key-scope.ts'
export { LevelStateStore, type LevelStateStoreOptions } from './level-state-store.ts'
export { isWellFormedEtag } from './version-counter.ts'
