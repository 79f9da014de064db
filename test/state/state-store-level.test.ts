import { stateStoreContract } from '../contracts/state-store.contract.ts'
import { LevelStore, type Store } from '../../core/store/index.ts'
import { LevelStateStore } from '../../core/state/index.ts'
import type { Clock } from '../../core/clock.ts'
import { tmpDir } from '../helpers/tmp.ts'

async function over (store: Store, clock: Clock): Promise<{ store: LevelStateStore; close(): Promise<void> }> {
  const state = await LevelStateStore.create({ namespace: store.namespace('state-test'), name: 'test', clock })
  return { store: state, close: async () => { await state.close(); await store.close() } }
}

stateStoreContract('level', async (clock) => over(await LevelStore.create({ dataDir: await tmpDir('state') }), clock))
stateStoreContract('level (power durability)', async (clock) => over(await LevelStore.create({ dataDir: await tmpDir('state'), durability: 'power' }), clock))
