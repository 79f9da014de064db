/**
 * The same as session-gc.test.ts, through the whole runtime (in-process, started twice on one data dir):
 * it checks that the runtime hands the subscription manager its session registry
 * (`registry: this.#store.namespace('pubsub')` in edge/runtime.ts): the record is read from the data dir's
 * LevelDB after the runtime stopped, i.e. what is on disk.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { LevelStore } from '../../core/store/index.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { eventually, subscriptionsReady } from '../helpers/runtime-view.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { TestApp } from './test-app.ts'

/** The subscription sessions the registry recorded in the data dir's LevelDB (read while no runtime holds it). */
async function sessionsOnDisk (dataDir: string): Promise<string[]> {
  const store = await LevelStore.create({ dataDir })
  try {
    const keys: string[] = []
    for await (const k of store.namespace('pubsub').namespace('sessions').keys()) keys.push(k)
    return keys
  } finally {
    await store.close()
  }
}

test('pubsub session-gc-runtime - after a restart, the subscription the app no longer lists is gone: events on its topic are not queued', async () => {
  const dataDir = await tmpDir('gcrt')
  let app = await TestApp.start()
  const port = app.port
  app.subscribe = [{ pubsubname: 'pubsub', topic: 'old', route: '/old' }]
  const config = { id: 'gw-gcrt', dataDir, apps: [{ id: 'reader', appPort: port }] }
  const publish = async (rt: Awaited<ReturnType<typeof startRuntime>>, topic: string, i: number): Promise<void> => {
    const res = await fetch(`http://127.0.0.1:${rt.addresses.api!.port}/v1.0/publish/pubsub/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) })
    assert.is(res.status, 204)
  }
  let rt = await startRuntime(config)
  try {
    await eventually(() => subscriptionsReady(rt, 'reader'), 10_000, 'the app')

    // The app goes away; events queue for its subscription.
    await app.close()
    for (let i = 0; i < 3; i++) await publish(rt, 'old', i)
    await rt.stop()
    assert.equal(await sessionsOnDisk(dataDir), ['mecha-sub/reader/p/pubsub/old'], 'the runtime records subscription sessions (edge/runtime.ts passes registry: this.#store.namespace(\'pubsub\') to SubscriptionManager.create)')

    // Restarted, the app lists another subscription: the old session is discarded, the new one delivers.
    app = await TestApp.start(port)
    app.subscribe = [{ pubsubname: 'pubsub', topic: 'new', route: '/new' }]
    rt = await startRuntime(config)
    await eventually(() => subscriptionsReady(rt, 'reader'), 10_000, 'the app with its new subscription')
    await publish(rt, 'new', 10)
    await app.waitFor(() => app.at('/new').length === 1, 5000, 'the new subscription')
    await publish(rt, 'old', 11)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await rt.stop()
    assert.equal(await sessionsOnDisk(dataDir), ['mecha-sub/reader/p/pubsub/new'], 'the old session is forgotten on disk too')

    // Listed again, the old subscription starts afresh: nothing published on its topic meanwhile was kept.
    app.subscribe = [{ pubsubname: 'pubsub', topic: 'old', route: '/old' }]
    rt = await startRuntime(config)
    await eventually(() => subscriptionsReady(rt, 'reader'), 10_000, 'the app with the old subscription again')
    await publish(rt, 'old', 12)
    await app.waitFor(() => app.at('/old').length >= 1, 5000, 'the event on the old topic')
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(app.at('/old').map((r) => r.json.data.i), [12])
  } finally {
    await rt.stop()
    await app.close()
    await cleanupTmp()
  }
})

test.run()
