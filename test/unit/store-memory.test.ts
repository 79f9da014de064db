import { storeContract } from '../contracts/store.contract.ts'
import { MemoryStore } from '../../core/store/index.ts'

storeContract('memory', () => MemoryStore.create())
