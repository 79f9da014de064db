/** Outbox bounds and policies: drop-oldest by priority, reject-new, TTL, and a ledger that balances across restarts. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { LevelStore, MemoryStore } from '../../core/store/index.ts'
import { ManualClock } from '../../core/clock.ts'
import { isMechaError } from '../../core/errors.ts'
import { CloudBridge, type CloudConfigInput } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto, freePort } from '../helpers/mosquitto.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { CloudSubscriber, testLogger, waitFor } from './helpers.ts'

let bus: AedesBus
test.before(async () => { bus = await AedesBus.create() })
test.after(async () => { await bus?.close(); await cleanupTmp() })

const msg = (topic: string, payload: string): { topic: string; payload: Buffer; qos: 1; retain: false } => ({ topic, payload: Buffer.from(payload), qos: 1, retain: false })

test('cloud-bridge - a full outbox drops the oldest low-priority messages first and the ledger balances exactly', async () => {
  const mosq = await Mosquitto.start()
  const proxy = await TcpProxy.create(mosq.port)
  proxy.pause() // the cloud is unreachable until the end
  const dataDir = await tmpDir('full')
  let store = await LevelStore.create({ dataDir })
  const config: CloudConfigInput = {
    url: `mqtt://127.0.0.1:${proxy.port}`,
    backoff: { minMs: 30, maxMs: 60 },
    outbox: { maxMessages: 100, whenFull: 'drop-oldest' },
    forward: [{ from: 'alarm/#', to: 'gw/alarm/', priority: 0 }, { from: 'low/#', to: 'gw/low/', priority: 9 }],
  }
  let bridge = await CloudBridge.create({ nodeId: 'gw-full', config, store, bus, log: testLogger() })
  for (let i = 0; i < 80; i++) await bus.publish(msg('low/t', `l${i}`))
  for (let i = 0; i < 60; i++) await bus.publish(msg('alarm/t', `a${i}`))
  for (let i = 80; i < 110; i++) await bus.publish(msg('low/t', `l${i}`))
  await bridge.flushed()
  let ledger = bridge.ledger()
  assert.is(ledger.accepted, 170)
  assert.is(ledger.dropped.full, 70)
  assert.is(ledger.queued, 100)
  assert.is(ledger.delivered, 0)
  assert.ok(ledger.balanced)

  // The ledger is on disk with the entries: a restart reads the same figures.
  await bridge.close()
  await store.close()
  store = await LevelStore.create({ dataDir })
  bridge = await CloudBridge.create({ nodeId: 'gw-full', config, store, bus, log: testLogger() })
  assert.equal(bridge.ledger(), ledger)

  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#')
  proxy.resume()
  await waitFor(() => cloud.received.length >= 100, 10_000, () => `${cloud.received.length}/100`)
  const got = cloud.received.map((r) => r.payload.toString())
  // Every alarm kept, and sent first; of the low ones only the 40 newest survived.
  assert.equal(got.slice(0, 60), Array.from({ length: 60 }, (_, i) => `a${i}`))
  assert.equal(got.slice(60), Array.from({ length: 40 }, (_, i) => `l${i + 70}`))
  await waitFor(() => bridge.ledger().queued === 0, 5000, 'drained')
  await bridge.flushed()
  ledger = bridge.ledger()
  assert.is(ledger.delivered + ledger.dropped.full + ledger.queued, ledger.accepted)
  assert.ok(ledger.balanced)
  await cloud.close()
  await bridge.close()
  await store.close()
  await proxy.close()
  await mosq.stop()
})

test('cloud-bridge - reject-new refuses the publish with MECHA_ERR_OUTBOX_FULL and counts it outside the balance', async () => {
  const store = await MemoryStore.create()
  const port = await freePort() // nothing listens: offline
  const bridge = await CloudBridge.create({
    nodeId: 'gw-rej',
    config: { url: `mqtt://127.0.0.1:${port}`, outbox: { maxMessages: 5, whenFull: 'reject-new' }, forward: [{ from: 'a/#', priority: 5 }, { from: 'b/#', priority: 2 }] },
    store, bus, log: testLogger(), delay: () => 60_000,
  })
  for (let i = 0; i < 5; i++) await bus.publish(msg('a/x', String(i)))
  const err = await bus.publish(msg('a/x', 'one too many')).then(() => undefined, (e: unknown) => e)
  assert.ok(isMechaError(err, 'MECHA_ERR_OUTBOX_FULL'), String(err))
  // A more important message still gets in: reject-new evicts strictly lower priorities.
  await bus.publish(msg('b/x', 'important'))
  await bridge.flushed()
  const ledger = bridge.ledger()
  assert.is(ledger.accepted, 6)
  assert.is(ledger.rejectedNew, 1)
  assert.is(ledger.dropped.full, 1)
  assert.is(ledger.queued, 5)
  assert.ok(ledger.balanced)
  assert.is(bridge.status.type === 'backoff' || bridge.status.type === 'outbox-full' || bridge.status.type === 'disconnected', true)
  await bridge.close()
  await store.close()
})

test('cloud-bridge - messages past their rule TTL are dropped and counted as expired', async () => {
  const store = await MemoryStore.create()
  const clock = new ManualClock(1_000_000)
  const port = await freePort()
  const bridge = await CloudBridge.create({
    nodeId: 'gw-ttl',
    config: { url: `mqtt://127.0.0.1:${port}`, forward: [{ from: 'short/#', ttlSeconds: 30 }, { from: 'long/#' }] },
    store, bus, log: testLogger(), clock, delay: () => 3_600_000,
  })
  for (let i = 0; i < 10; i++) await bus.publish(msg('short/x', String(i)))
  for (let i = 0; i < 3; i++) await bus.publish(msg('long/x', String(i)))
  clock.advance(61_000) // past the TTL and the sweep interval
  await waitFor(() => bridge.ledger().dropped.expired === 10, 2000, () => JSON.stringify(bridge.ledger()))
  await bridge.flushed()
  const ledger = bridge.ledger()
  assert.is(ledger.queued, 3)
  assert.ok(ledger.balanced)
  await bridge.close()
  await store.close()
})

test.run()
