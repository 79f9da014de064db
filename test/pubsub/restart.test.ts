import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { DaprServer } from '@dapr/dapr'
import { startRuntime } from '../helpers/runtime.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { eventually, subscriptionState, subscriptionsOf, subscriptionsReady } from '../helpers/runtime-view.ts'
import { freePort, waitUntil } from './test-app.ts'
import { daprClient, daprServer } from './dapr-app.ts'

async function subscriber (appPort: number, daprPort: number, got: number[]): Promise<DaprServer> {
  const server = daprServer(appPort, daprPort)
  await server.pubsub.subscribe('pubsub', 'readings', async (data: { n: number }) => { got.push(data.n) })
  await server.start()
  return server
}

test('pubsub restart - the subscriber app is stopped while 500 events are published, then started: it gets all 500, in order', async () => {
  const appPort = await freePort()
  const rt = await startRuntime({ id: 'gw-restart', apps: [{ id: 'reader', appPort }] })
  const daprPort = rt.addresses.api!.port
  const client = daprClient(daprPort)
  try {
    const first: number[] = []
    let server = await subscriber(appPort, daprPort, first)
    await eventually(async () => await subscriptionsReady(rt, 'reader') && (await subscriptionsOf(rt)).length === 1, 10_000, 'the subscription')
    for (let n = 0; n < 5; n++) await client.pubsub.publish('pubsub', 'readings', { n })
    await waitUntil(() => first.length === 5, 5000, 'the first 5')
    assert.equal(first, [0, 1, 2, 3, 4])

    await server.stop()
    // Published while nobody listens: the runtime finds the app gone and the broker queues the rest.
    for (let n = 5; n < 505; n++) {
      const res = await client.pubsub.publish('pubsub', 'readings', { n })
      assert.equal(res, {}, `publish ${n}`)
    }
    assert.is(await subscriptionState(rt, 'reader'), 'discovering', 'the runtime found the app gone')

    const second: number[] = []
    server = await subscriber(appPort, daprPort, second)
    await waitUntil(() => second.length >= 500, 30_000, 'all 500 after the restart')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.is(second.length, 500)
    assert.equal(second, [...Array(500).keys()].map((i) => i + 5))
    await server.stop()
  } finally {
    await client.stop().catch(() => {})
    await rt.stop()
    await cleanupTmp()
  }
})

test.run()
