/**
 * Sessions of subscriptions that are gone after a runtime restart are discarded. Runs the runtime's pub/sub
 * parts as the runtime wires them (one LevelDB store, the broker's persistence in its `broker` namespace,
 * the session registry in `pubsub`), stopped and started again on the same data dir, and looks into the
 * broker's persistence to see what it still queues for each session.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { Metrics } from '../../core/metrics.ts'
import { LevelStore } from '../../core/store/index.ts'
import { MqttBroker } from '../../edge/broker/index.ts'
import { LevelPersistence } from '../../edge/broker/persistence/index.ts'
import { SubscriptionManager } from '../../edge/pubsub/index.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { TestApp, freePort, waitUntil } from './test-app.ts'

type Persistence = LevelPersistence

interface Node {
  store: LevelStore
  persistence: Persistence
  broker: MqttBroker
  subs: SubscriptionManager
  stop: () => Promise<void>
}

/** The pub/sub half of a runtime on `dataDir`: store → broker persistence → broker → subscriptions. */
async function boot (dataDir: string, extra: Record<string, unknown>): Promise<Node> {
  const { config } = await parseConfig({ id: 'gw-gc', dataDir, mqtt: { port: 0 }, api: { port: 0 }, ui: { port: 0 }, metrics: { port: 0 }, ...extra })
  const log = createLogger({ level: process.env.MECHA_TEST_LOG === '1' ? 'debug' : 'silent', pretty: false })
  const store = await LevelStore.create({ dataDir })
  const persistence = await LevelPersistence.create(store.namespace('broker'))
  const broker = await MqttBroker.create({ config: config.mqtt, log, metrics: new Metrics({ defaults: false }), persistence })
  const subs = await SubscriptionManager.create({
    connect: () => broker.connectInternal(), bus: broker, config, log,
    registry: store.namespace('pubsub'),
    discovery: { minDelayMs: 20, maxDelayMs: 100 },
  })
  return {
    store, persistence, broker, subs,
    stop: async () => { await subs.close(); await broker.close(); await persistence.destroy(); await store.close() },
  }
}

/** What the broker keeps for one session: its subscriptions and the messages queued (or in flight) for it. */
async function session (p: Persistence, clientId: string): Promise<{ topics: string[]; queued: number }> {
  const topics = (await p.subscriptionsByClient({ id: clientId })).map((s) => s.topic)
  let queued = 0
  for await (const _ of p.outgoingStream({ id: clientId })) queued++
  return { topics, queued }
}

/**
 * Waits until the broker holds nothing for a session. aedes empties a discarded session's queue right after
 * its CONNACK, asynchronously, so the last queued messages may still be going when the discard returns.
 */
async function gone (p: Persistence, clientId: string): Promise<void> {
  const until = Date.now() + 5000
  for (;;) {
    const s = await session(p, clientId)
    if (s.topics.length === 0 && s.queued === 0) return
    if (Date.now() > until) assert.equal(s, { topics: [], queued: 0 }, `session ${clientId} is gone`)
    await pause(20)
  }
}

async function registered (n: Node): Promise<string[]> {
  const out: string[] = []
  for await (const k of n.store.namespace('pubsub').namespace('sessions').keys()) out.push(k)
  return out
}

const publish = (n: Node, topic: string, i: number): Promise<void> => n.broker.publish({ topic, payload: Buffer.from(JSON.stringify({ i })), qos: 1, retain: false })
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function waitUntilAsync (pred: () => Promise<boolean>, what: string): Promise<void> {
  const until = Date.now() + 5000
  while (!await pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await pause(20)
  }
}

const OLD = 'mecha-sub/reader/p/pubsub/old'
const NEW = 'mecha-sub/reader/p/pubsub/new'

const test = suite('pubsub session-gc')
test.after(async () => { await cleanupTmp() })

test('pubsub session-gc - a programmatic subscription the app no longer lists after a runtime restart loses its session; the new one delivers', async () => {
  const dataDir = await tmpDir('gc')
  let app = await TestApp.start()
  const port = app.port
  app.subscribe = [{ pubsubname: 'pubsub', topic: 'old', route: '/old' }]
  const config = { apps: [{ id: 'reader', appPort: port }] }
  let n = await boot(dataDir, config)
  try {
    await waitUntil(() => n.subs.appReady('reader'), 10_000, 'the app with its old subscription')
    await publish(n, 'old', 0)
    await app.waitFor(() => app.at('/old').length === 1, 5000, 'the first event')

    // The app goes away; events for its subscription queue in the broker.
    await app.close()
    for (let i = 1; i <= 3; i++) await publish(n, 'old', i)
    await waitUntil(() => !n.subs.appReady('reader'), 5000, 'the app to count as down')
    const queued = await session(n.persistence, OLD)
    assert.equal(queued.topics, ['old'])
    assert.is(queued.queued, 3)
    await n.stop()

    // Restart on the same data dir: the old session is still there (and queueing) until the app says what it wants.
    n = await boot(dataDir, config)
    await publish(n, 'old', 4)
    assert.equal(await session(n.persistence, OLD), { topics: ['old'], queued: 4 })
    assert.equal(await registered(n), [OLD])

    app = await TestApp.start(port)
    app.subscribe = [{ pubsubname: 'pubsub', topic: 'new', route: '/new' }]
    await waitUntil(() => n.subs.appReady('reader'), 10_000, 'the app with its new subscription')
    assert.equal(n.subs.list().map((s) => s.topic), ['new'])
    await gone(n.persistence, OLD)
    assert.equal(await registered(n), [NEW])

    // Nothing queues for the old topic any more; the new subscription delivers.
    await publish(n, 'old', 5)
    await publish(n, 'new', 6)
    await app.waitFor(() => app.at('/new').length === 1, 5000, 'the event on the new topic')
    await pause(100)
    assert.equal(app.at('/new').map((r) => r.json.data), [{ i: 6 }])
    assert.is(app.at('/old').length, 0, 'nothing of the old subscription reached the app')
    await gone(n.persistence, OLD)
    await n.stop()

    // A third start with the old subscription listed again: it starts afresh, nothing of the old queue comes back.
    n = await boot(dataDir, config)
    app.subscribe = [{ pubsubname: 'pubsub', topic: 'old', route: '/old' }, { pubsubname: 'pubsub', topic: 'new', route: '/new' }]
    await waitUntil(() => n.subs.appReady('reader'), 10_000, 'the app with both subscriptions')
    await publish(n, 'old', 7)
    await app.waitFor(() => app.at('/old').length === 1, 5000, 'the new event on the old topic')
    await pause(100)
    assert.equal(app.at('/old').map((r) => r.json.data), [{ i: 7 }])
  } finally {
    await n.stop().catch(() => {})
    await app.close().catch(() => {})
  }
})

test('pubsub session-gc - an entry the app still lists but that is invalid keeps its session and its queue', async () => {
  const dataDir = await tmpDir('gc')
  const app = await TestApp.start()
  app.subscribe = [{ pubsubname: 'pubsub', topic: 'keep', route: '/keep' }]
  const config = { apps: [{ id: 'reader', appPort: app.port }] }
  let n = await boot(dataDir, config)
  try {
    await waitUntil(() => n.subs.appReady('reader'), 10_000, 'the app')
    await n.stop()
    // A typo: no route at all. The entry is rejected (logged), but its session is not thrown away.
    app.subscribe = [{ pubsubname: 'pubsub', topic: 'keep' }]
    n = await boot(dataDir, config)
    await waitUntil(() => n.subs.appReady('reader'), 10_000, 'the app')
    await publish(n, 'keep', 1)
    assert.equal(n.subs.list(), [])
    assert.equal(await session(n.persistence, 'mecha-sub/reader/p/pubsub/keep'), { topics: ['keep'], queued: 1 })
  } finally {
    await n.stop().catch(() => {})
    await app.close()
  }
})

const doc = (name: string, topic: string, scopes: string[]): object =>
  ({ apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name }, spec: { pubsubname: 'pubsub', topic, routes: { default: `/${name}` } }, scopes })

test('pubsub session-gc - declarative subscriptions removed from the config, moved to another topic, or of a removed app: sessions discarded at start', async () => {
  const dataDir = await tmpDir('gc')
  // Apps that never answer: everything stays queued, so only the runtime's start can have changed it.
  const nobody = await freePort()
  const apps = [{ id: 'a', appPort: nobody }, { id: 'b', appPort: nobody }]
  let n = await boot(dataDir, {
    apps,
    subscriptions: [doc('kept', 'kept', ['a']), doc('gone', 'gone', ['a']), doc('moved', 'moved/1', ['a']), doc('of-b', 'of-b', ['b'])],
  })
  try {
    for (const t of ['kept', 'gone', 'moved/1', 'of-b']) await publish(n, t, 1)
    for (const id of ['a/d/kept', 'a/d/gone', 'a/d/moved', 'b/d/of-b']) assert.is((await session(n.persistence, `mecha-sub/${id}`)).queued, 1, id)
    await n.stop()

    n = await boot(dataDir, { apps: [apps[0]], subscriptions: [doc('kept', 'kept', ['a']), doc('moved', 'moved/2', ['a'])] })
    assert.equal(await session(n.persistence, 'mecha-sub/a/d/kept'), { topics: ['kept'], queued: 1 }, 'a kept subscription keeps its queue')
    await gone(n.persistence, 'mecha-sub/a/d/gone')
    await gone(n.persistence, 'mecha-sub/b/d/of-b')
    const moved = async (): Promise<{ topics: string[]; queued: number }> => await session(n.persistence, 'mecha-sub/a/d/moved')
    await waitUntilAsync(async () => (await moved()).queued === 0, 'the moved session to drop its old queue')
    assert.equal(await moved(), { topics: ['moved/2'], queued: 0 }, 'a moved subscription listens to its new topic only')
    assert.equal((await registered(n)).sort(), ['mecha-sub/a/d/kept', 'mecha-sub/a/d/moved'])
    await publish(n, 'moved/1', 2)
    await publish(n, 'moved/2', 3)
    await publish(n, 'gone', 4)
    assert.equal(await moved(), { topics: ['moved/2'], queued: 1 })
    assert.equal(await session(n.persistence, 'mecha-sub/a/d/gone'), { topics: [], queued: 0 })
  } finally {
    await n.stop().catch(() => {})
  }
})

test.run()
