import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { startRuntime } from '../helpers/runtime.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { eventually, subscriptionState } from '../helpers/runtime-view.ts'
import { freePort } from './test-app.ts'

const APP = join(import.meta.dirname, 'fixtures/health-subscriber.mjs')

async function get (port: number, path: string): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return res.headers.get('content-type')?.includes('json') === true ? await res.json() : await res.text()
}

// Dapr's app-health semantics: an app that fails its probes gets no deliveries, even though it still answers
// (it lists its subscriptions); what is published meanwhile waits in the broker and arrives, in order, once
// the probes pass again.
test('pubsub health - an unhealthy app that still answers gets nothing until it is healthy again, then the backlog in order', async () => {
  const appPort = await freePort()
  const rt = await startRuntime({
    id: 'gw-health',
    apps: [{ id: 'reader', command: process.execPath, args: [APP], appPort, health: { path: '/healthz', intervalMs: 200, timeoutMs: 150, threshold: 2, restartAfter: 0 } }],
  })
  const api = rt.addresses.api!.port
  const publish = async (n: number): Promise<void> => {
    const res = await fetch(`http://127.0.0.1:${api}/v1.0/publish/pubsub/readings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) })
    assert.is(res.status, 204, `publish ${n}`)
  }
  try {
    await eventually(async () => await subscriptionState(rt, 'reader') === 'ready', 15_000, 'the app ready')
    await publish(0)
    await eventually(async () => (await get(appPort, '/got') as number[]).length === 1, 5000, 'the first event')

    await get(appPort, '/fail')
    await eventually(async () => await subscriptionState(rt, 'reader') === 'unhealthy', 5000, 'the runtime to see the app unhealthy')
    for (let n = 1; n <= 20; n++) await publish(n)
    // Several probe intervals, and discovery polls, pass while the app is unhealthy: nothing may arrive.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.equal(await get(appPort, '/got'), [0], 'no delivery while unhealthy')
    assert.is(await subscriptionState(rt, 'reader'), 'unhealthy')

    await get(appPort, '/ok')
    await eventually(async () => (await get(appPort, '/got') as number[]).length >= 21, 10_000, 'the backlog after recovery')
    assert.equal(await get(appPort, '/got'), [...Array(21).keys()], 'the backlog, once, in order')
    assert.is(await subscriptionState(rt, 'reader'), 'ready')
  } finally {
    await rt.stop()
    await cleanupTmp()
  }
})

test.run()
