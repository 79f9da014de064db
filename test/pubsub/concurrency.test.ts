/**
 * `metadata.concurrency` end to end: up to N events in flight at the app, never more, and each event is
 * acknowledged to the broker only once it is done, so stopping the app or the runtime midway loses nothing.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { deliveryOutcomes, eventually, subscriptionState, subscriptionsReady } from '../helpers/runtime-view.ts'
import { freePort, waitUntil } from './test-app.ts'

/** Fast retries: a reset request comes back within a second. */
const FAST = { retryIntervalMs: '20', retryMaxIntervalMs: '100', maxRetries: '-1', concurrency: '4' }

/**
 * A slow subscriber that counts requests open at once: a request counts from its arrival until its
 * response is finished or its connection is gone (as the runtime sees it), not until a handler returns.
 */
class SlowApp {
  inFlight = 0
  maxInFlight = 0
  readonly got: number[] = []
  delayMs = 150
  subscribe: unknown
  #server: Server
  port = 0

  constructor () {
    this.#server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/dapr/subscribe') {
        if (this.subscribe === undefined) res.writeHead(404).end()
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.subscribe))
        return
      }
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        this.inFlight++
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
        let open = true
        const done = (): void => { if (open) { open = false; this.inFlight-- } }
        res.once('close', done)
        setTimeout(() => {
          if (!open) return
          this.got.push((JSON.parse(Buffer.concat(chunks).toString()) as { data: { i: number } }).data.i)
          res.writeHead(200).end()
        }, this.delayMs).unref()
      })
    })
  }

  async listen (port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve))
    this.port = (this.#server.address() as AddressInfo).port
  }

  async close (): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => { resolve() }))
  }

  /** Every index in [0, n) received at least once. */
  complete (n: number): boolean {
    const seen = new Set(this.got)
    for (let i = 0; i < n; i++) if (!seen.has(i)) return false
    return true
  }
}

async function publish (rt: Runtime, topic: string, from: number, to: number): Promise<void> {
  const base = `http://127.0.0.1:${rt.addresses.api!.port}`
  for (let i = from; i < to; i++) {
    const res = await fetch(`${base}/v1.0/publish/pubsub/${topic}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) })
    assert.is(res.status, 204, `publish ${i}`)
  }
}

/** The index of the event published while the app is away in redeliveredAfterReconnect. */
const MARKER = 1_000_000

/**
 * Waits until the app has had nothing open and nothing new for `ms` (answers processed, retries of reset
 * requests done), then the app really goes away and comes back: the event published meanwhile finds it
 * refusing connections, so the runtime pauses its sessions (the broker keeps whatever is unacknowledged) and
 * polls the app until it answers again, then resumes them. Anything left unacknowledged would be delivered
 * again; returns how many events other than that one arrived after the app came back.
 */
async function redeliveredAfterReconnect (rt: Runtime, app: SlowApp, appId: string, topic: string, ms = 300): Promise<number> {
  let seen = -1
  let since = Date.now()
  await waitUntil(() => {
    if (app.inFlight > 0 || app.got.length !== seen) { seen = app.got.length; since = Date.now(); return false }
    return Date.now() - since >= ms
  }, 10_000, 'the app to be quiet')
  const before = app.got.length
  await app.close()
  await publish(rt, topic, MARKER, MARKER + 1)
  await eventually(async () => await subscriptionState(rt, appId) === 'discovering', 10_000, 'the pause')
  await app.listen(app.port)
  await eventually(() => subscriptionsReady(rt, appId), 10_000, 'the resume')
  await waitUntil(() => app.got.includes(MARKER), 10_000, 'the event published while the app was away')
  await new Promise((resolve) => setTimeout(resolve, 500))
  return app.got.slice(before).filter((i) => i !== MARKER).length
}

const sub = (name: string, topic: string): object =>
  ({ apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name }, spec: { pubsubname: 'pubsub', topic, route: '/work', metadata: FAST } })

test('pubsub concurrency - concurrency "4" (programmatic): a slow app sees 4 events at once, never more; each acknowledged once done', async () => {
  const app = new SlowApp()
  await app.listen()
  app.subscribe = [{ pubsubname: 'pubsub', topic: 'jobs', route: '/work', metadata: { concurrency: '4' } }]
  const rt = await startRuntime({ id: 'gw-conc', apps: [{ id: 'worker', appPort: app.port }] })
  try {
    await eventually(() => subscriptionsReady(rt, 'worker'), 10_000, 'the app')
    const t0 = Date.now()
    await publish(rt, 'jobs', 0, 24)
    await waitUntil(() => app.got.length >= 24, 15_000, 'all 24 events')
    const ms = Date.now() - t0
    assert.is(app.maxInFlight, 4)
    assert.equal([...app.got].sort((a, b) => a - b), [...Array(24).keys()], 'each event once')
    // 24 events of 150 ms, 4 at a time: about 6 rounds (serially it would take 3.6 s).
    assert.ok(ms < 3000, `took ${ms} ms`)
    await eventually(async () => (await deliveryOutcomes(rt, 'worker', 'pubsub/jobs')).success === 24, 5000, 'the last answers')
    assert.is(await redeliveredAfterReconnect(rt, app, 'worker', 'jobs'), 0, 'nothing was left unacknowledged')
  } finally {
    await rt.stop()
    await app.close()
    await cleanupTmp()
  }
})

test('pubsub concurrency - the app stops midway and comes back: every event arrives (at least once), still at most 4 at once', async () => {
  const port = await freePort()
  let app = new SlowApp()
  app.delayMs = 100
  await app.listen(port)
  const rt = await startRuntime({ id: 'gw-conc', apps: [{ id: 'worker', appPort: port }], subscriptions: [sub('jobs', 'jobs')] })
  const got: number[] = []
  let max = 0
  try {
    await eventually(() => subscriptionsReady(rt, 'worker'), 10_000, 'the app')
    const publishing = publish(rt, 'jobs', 0, 40)
    await waitUntil(() => app.got.length >= 10, 10_000, 'the first 10')
    // Gone with requests in flight: they are reset (retried) or refused (paused); none is acknowledged.
    await app.close()
    got.push(...app.got); max = Math.max(max, app.maxInFlight)
    await publishing
    await new Promise((resolve) => setTimeout(resolve, 300))
    app = new SlowApp()
    app.delayMs = 100
    await app.listen(port)
    await waitUntil(() => new Set([...got, ...app.got]).size === 40, 20_000, 'all 40 events')
    got.push(...app.got); max = Math.max(max, app.maxInFlight)
    assert.equal([...new Set(got)].sort((a, b) => a - b), [...Array(40).keys()])
    assert.ok(max <= 4, `max in flight ${max}`)
    assert.is(max, 4)
    assert.is(await redeliveredAfterReconnect(rt, app, 'worker', 'jobs'), 0, 'nothing was left unacknowledged')
  } finally {
    await rt.stop()
    await app.close()
    await cleanupTmp()
  }
})

test('pubsub concurrency - the runtime stops with 4 events in flight and restarts: those are delivered again, nothing is lost', async () => {
  const dataDir = await tmpDir('conc')
  const app = new SlowApp()
  app.delayMs = 100
  await app.listen()
  const config = { id: 'gw-conc', dataDir, apps: [{ id: 'worker', appPort: app.port }], subscriptions: [sub('jobs', 'jobs')] }
  let rt = await startRuntime(config)
  try {
    await eventually(() => subscriptionsReady(rt, 'worker'), 10_000, 'the app')
    await publish(rt, 'jobs', 0, 30)
    await waitUntil(() => app.got.length >= 8, 10_000, 'the first 8')
    await rt.stop()
    const before = new Set(app.got)
    assert.ok(before.size < 30, 'stopped midway')
    rt = await startRuntime(config)
    await waitUntil(() => app.complete(30), 20_000, 'all 30 events')
    assert.equal([...new Set(app.got)].sort((a, b) => a - b), [...Array(30).keys()])
    assert.is(await redeliveredAfterReconnect(rt, app, 'worker', 'jobs'), 0, 'nothing was left unacknowledged')
  } finally {
    await rt.stop()
    await app.close()
    await cleanupTmp()
  }
})

test.run()
