/**
 * The aedes-persistence shared suite (node:test), run against LevelPersistence on a real LevelDB: a fresh
 * store in its own temp dir per test, closed when the suite destroys the persistence.
 */
import { test, after } from 'node:test'
import { createRequire } from 'node:module'
import { LevelStore } from '../../core/store/index.ts'
import { LevelPersistence } from '../../edge/broker/persistence/index.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'

const require = createRequire(import.meta.url)
// CommonJS and untyped: (opts: { test, persistence, testAsync }) => void
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: Record<string, unknown>) => void

async function persistence (): Promise<LevelPersistence> {
  const store = await LevelStore.create({ dataDir: await tmpDir('broker-persistence') })
  const p = await LevelPersistence.create(store.namespace('broker'))
  // The suite only knows destroy(); the store is this test's to close.
  const destroy = p.destroy.bind(p)
  p.destroy = async () => { await destroy(); await store.close() }
  return p
}

after(cleanupTmp)

// testAsync: the persistence is async (asyncPersistence.js flavour), so the suite calls setup(broker) itself.
abstractPersistence({ test, persistence, testAsync: true })
