import type { Namespace } from '../../core/store/index.ts'

/**
 * The broker's persistence over the `broker` namespace of the store. Until the LevelDB persistence lands the
 * broker runs on aedes' in-memory one (undefined here).
 */
export async function createBrokerPersistence (_ns: Namespace): Promise<unknown> {
  return undefined
}
