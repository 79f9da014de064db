import { storeContract } from '../contracts/store.contract.ts'
import { LevelStore } from '../../core/store/index.ts'
import { tmpDir } from '../helpers/tmp.ts'

storeContract('level', async () => LevelStore.create({ dataDir: await tmpDir('store') }))
storeContract('level (power durability)', async () => LevelStore.create({ dataDir: await tmpDir('store'), durability: 'power' }))
