import { stateStoreContract } from '../contracts/state-store.contract.ts'
import { MemoryStore } from '../../core/store/index.ts'
import { LevelStateStore } from '../../core/state/index.ts'

// The in-memory state store is the same LevelStateStore over the in-memory Store (memory-level).
stateStoreContract('memory', async (clock) => {
  const mem = await MemoryStore.create()
  const store = await LevelStateStore.create({ namespace: mem.namespace('state-test'), name: 'test', clock })
  return { store, close: async () => { await store.close(); await mem.close() } }
})
