/** Shadow sync: coalesced reported state after an outage, versioned desired state from the cloud. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryStore } from '../../core/store/index.ts'
import { CloudBridge, NamespaceStateAccess } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { CloudSubscriber, connectClient, sleep, testLogger, waitFor } from './helpers.ts'

test.after(async () => { await cleanupTmp() })

test('cloud-bridge - 1,000 updates of one key during an outage arrive as one reported update; desired state is applied by version', async () => {
  const mosq = await Mosquitto.start()
  const proxy = await TcpProxy.create(mosq.port)
  const bus = await AedesBus.create()
  const store = await MemoryStore.create()
  const state = new NamespaceStateAccess(store.namespace('state'))
  const cloud = await CloudSubscriber.create(mosq.url, 'gateways/gw-st/state/reported')
  const bridge = await CloudBridge.create({
    nodeId: 'gw-st',
    config: { url: `mqtt://127.0.0.1:${proxy.port}`, backoff: { minMs: 20, maxMs: 50 }, stateSync: { coalesceMs: 50 } },
    store, bus, log: testLogger(), stateAccess: state,
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'connected')
  proxy.pause()
  await waitFor(() => !bridge.snapshot().connected, 5000, 'offline')
  for (let i = 0; i < 1000; i++) await state.set('temp', i)
  await state.set('fan', 'on')
  proxy.resume()
  await waitFor(() => cloud.received.length >= 1, 5000, 'reported state')
  await sleep(300) // any second report would have come by now
  assert.is(cloud.received.length, 1, 'one coalesced report')
  const report = JSON.parse(cloud.received[0].payload.toString()) as { state: Record<string, unknown> }
  assert.equal(report.state, { temp: 999, fan: 'on' })

  // Desired: version 2 applies; an older version 1 arriving later changes nothing.
  const ops = await connectClient(mosq.url, { protocolVersion: 5 })
  await ops.publishAsync('gateways/gw-st/state/desired', JSON.stringify({ version: 2, state: { mode: 'eco' } }), { qos: 1 })
  await waitFor(async () => (await state.get('mode')) === 'eco', 5000, 'desired v2 applied')
  await ops.publishAsync('gateways/gw-st/state/desired', JSON.stringify({ version: 1, state: { mode: 'off' } }), { qos: 1 })
  await ops.publishAsync('gateways/gw-st/state/desired', 'not json', { qos: 1 })
  await waitFor(() => (bridge.stats().state?.desiredStale ?? 0) === 1 && (bridge.stats().state?.desiredInvalid ?? 0) === 1, 5000, 'stale and invalid counted')
  assert.is(await state.get('mode'), 'eco')
  assert.is(await state.desiredVersion(), 2)
  // The applied desired value is reported back, as a shadow does.
  await waitFor(() => cloud.received.some((r) => (JSON.parse(r.payload.toString()) as { state: Record<string, unknown> }).state.mode === 'eco'), 5000, 'mode reported')
  await ops.endAsync(true)
  await cloud.close(); await bridge.close(); await bus.close(); await store.close(); await proxy.close(); await mosq.stop()
})

test.run()
