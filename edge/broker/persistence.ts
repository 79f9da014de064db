import type { Namespace } from '../../core/store/index.ts'
import { LevelPersistence } from './persistence/index.ts'

/** The broker's aedes persistence over the `broker` namespace of the store. */
export async function createBrokerPersistence (ns: Namespace): Promise<LevelPersistence> {
  return await LevelPersistence.create(ns)
}
