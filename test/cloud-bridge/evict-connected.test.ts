/**
 * `drop-oldest` while the link is up: a tiny outbox flooded faster than the cloud acknowledges, high and low
 * priority mixed. The sender reads ahead (and takes fresh entries with their write), so eviction keeps meeting
 * entries the sender holds but has not published. Each message must end up either evicted (and then never
 * published) or delivered — never both — and the ledger must balance with every message counted once.
 *
 * Two drivers: a fake MQTT client with random acknowledgement delays (many seeds, both stores), and a real
 * bridge on a real mosquitto.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { LevelStore, MemoryStore, type Store } from '../../core/store/index.ts'
import { systemClock } from '../../core/clock.ts'
import { isMechaError } from '../../core/errors.ts'
import { Outbox } from '../../cloud-bridge/outbox.ts'
import { Sender } from '../../cloud-bridge/sender.ts'
import { CloudBridge } from '../../cloud-bridge/index.ts'
import type { Ledger } from '../../cloud-bridge/ledger.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { CloudSubscriber, testLogger, waitFor } from './helpers.ts'

test.after(async () => { await cleanupTmp() })

function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

/** Stands in for MQTT.js: records the `mecha-id` of every publish and acknowledges it after 1-4 ms. */
function fakeClient (published: string[], rand: () => number, acked: (topic: string) => void): MqttClient {
  const client = {
    publish (topic: string, _payload: Buffer, opts: { properties?: { userProperties?: Record<string, string> } }, cb: (err?: Error) => void) {
      published.push(opts.properties?.userProperties?.['mecha-id'] as string)
      setTimeout(() => { acked(topic); cb() }, 1 + Math.floor(rand() * 4))
      return client
    },
  }
  return client as unknown as MqttClient
}

/**
 * The checks shared by both drivers. `accepted` maps each accepted message's id to its priority; `received`
 * lists the ids the cloud got, in arrival order.
 */
function checkExact (what: string, ledger: Ledger, accepted: ReadonlyMap<string, number>, received: readonly string[]): void {
  assert.is(ledger.queued, 0, `${what}: drained`)
  assert.is(ledger.accepted, accepted.size, `${what}: accepted`)
  assert.is(ledger.delivered + ledger.dropped.full, ledger.accepted, `${what}: ${JSON.stringify(ledger)}`)
  assert.ok(ledger.balanced, `${what}: balanced`)
  const got = new Set(received)
  assert.is(got.size, received.length, `${what}: nothing published twice on one connection`)
  for (const id of got) assert.ok(accepted.has(id), `${what}: ${id} received but never accepted`)
  // Every message the cloud received is counted delivered, and the rest (never received) are the drops.
  assert.is(ledger.delivered, got.size, `${what}: delivered = received (${JSON.stringify(ledger)})`)
  const dropped = [...accepted.keys()].filter((id) => !got.has(id))
  assert.is(dropped.length, ledger.dropped.full, `${what}: dropped = accepted but never received`)
  assert.ok(ledger.dropped.full > 0, `${what}: the policy applied`)
  // Low priority is always there to evict before a high-priority message.
  const highDropped = dropped.filter((id) => accepted.get(id) === 0)
  assert.is(highDropped.length, 0, `${what}: high priority dropped: ${highDropped.slice(0, 5).join(', ')}`)
}

/**
 * A proxy that passes what mosquitto sends back (CONNACK, PUBACKs) `delayMs` late, in order: a slow link
 * whatever the machine, so publishers reliably outrun it.
 */
async function slowLink (targetPort: number, delayMs: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = createConnection({ port: targetPort, host: '127.0.0.1' })
    sockets.add(client); sockets.add(upstream)
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
    for (const s of [client, upstream]) { s.on('error', end); s.on('close', end) }
    client.pipe(upstream)
    // Equal delays fire in the order they were set: the byte stream stays in order.
    upstream.on('data', (chunk: Buffer) => { setTimeout(() => { if (!client.destroyed) client.write(chunk) }, delayMs) })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    },
  }
}

async function runFake (store: Store, seed: number): Promise<{ withdrawn: number }> {
  const rand = rng(seed)
  const log = testLogger()
  const outbox = await Outbox.create({ ns: store.namespace(`evict-${seed}`), maxBytes: 1 << 20, maxMessages: 12, whenFull: 'drop-oldest', clock: systemClock, log })
  const sender = new Sender({
    outbox, nodeId: 'gw', protocolVersion: 5, envelope: 'none', window: 3, clock: systemClock, log, batches: new Map(),
    onRefused: () => {}, onProgress: () => {}, onBroken: () => {},
  })
  outbox.onAppend((item) => { sender.notify(item) })
  const published: string[] = []
  // High priority is alarms: rarer than the link's capacity, so at most HIGH_OUTSTANDING of them are ever
  // queued. With a window of 3 and room for 12, a full outbox then always holds a low-priority entry that is not
  // in flight, and dropping a high one would be the policy's fault.
  const HIGH_OUTSTANDING = 6
  let highOutstanding = 0
  sender.attach(fakeClient(published, rand, (topic) => { if (topic === 't/0') highOutstanding-- }), 65535)

  const accepted = new Map<string, number>()
  const pending: Array<Promise<void>> = []
  let rejected = 0
  for (let i = 0; i < 1500;) {
    const burst = 1 + Math.floor(rand() * 40)
    for (let j = 0; j < burst; j++, i++) {
      const priority = rand() < 0.15 && highOutstanding < HIGH_OUTSTANDING ? 0 : 9
      if (priority === 0) highOutstanding++
      pending.push(outbox.enqueue({ topic: `t/${priority}`, localTopic: `s/${priority}`, payload: Buffer.from(String(i)), qos: 1, retain: false, priority }).then(
        (e) => { accepted.set(e.id, e.priority) },
        (err: unknown) => { if (!isMechaError(err, 'MECHA_ERR_OUTBOX_FULL')) throw err; rejected++ },
      ))
    }
    if (rand() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.floor(rand() * 3)))
    else await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(pending)
  await waitFor(() => outbox.count <= 0 && sender.inflight === 0, 10_000, () => `seed ${seed}: ${outbox.count} still queued`)
  await outbox.flushed()
  const ledger = outbox.ledger()
  assert.is(ledger.rejectedNew, rejected, `seed ${seed}: refused at the door`)
  checkExact(`seed ${seed}`, ledger, accepted, published)
  const withdrawn = sender.withdrawn
  sender.close()
  await outbox.close()
  return { withdrawn }
}

test('drop-oldest while connected - a buffered entry is either evicted (never sent) or delivered (memory store)', async () => {
  const store = await MemoryStore.create()
  let withdrawn = 0
  for (let seed = 1; seed <= 10; seed++) withdrawn += (await runFake(store, seed)).withdrawn
  // The case this is about happened: eviction took entries out of the sender's buffer.
  assert.ok(withdrawn > 0, 'buffered entries were evicted')
  await store.close()
})

test('drop-oldest while connected - the same on LevelDB', async () => {
  const store = await LevelStore.create({ dataDir: await tmpDir('evict-connected') })
  let withdrawn = 0
  for (let seed = 201; seed <= 205; seed++) withdrawn += (await runFake(store, seed)).withdrawn
  assert.ok(withdrawn > 0, 'buffered entries were evicted')
  await store.close()
})

test('drop-oldest - entries whose write has not landed yet are evicted before a more important one on disk', async () => {
  const store = await MemoryStore.create()
  const inner = store.namespace('evict-unlanded')
  // Holds every batch until released: the low-priority writes below stay accepted but not on disk.
  let gate: Promise<void> | undefined
  const ns = new Proxy(inner, {
    get (target, prop, receiver) {
      if (prop === 'batch') return async (ops: Parameters<typeof inner.batch>[0]) => { await gate; await target.batch(ops) }
      const v = Reflect.get(target, prop, receiver) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
  const outbox = await Outbox.create({ ns, maxBytes: 1 << 20, maxMessages: 3, whenFull: 'drop-oldest', clock: systemClock, log: testLogger() })
  // Settles to the id, or to the error's text (a refusal must fail the assertion below, not crash the file).
  const put = (priority: number, payload: string): Promise<string> =>
    outbox.enqueue({ topic: `t/${priority}`, localTopic: 's', payload: Buffer.from(payload), qos: 1, retain: false, priority })
      .then((e) => e.id, (err: unknown) => `refused: ${String(err)}`)
  const h1 = await put(0, 'h1') // on disk
  let release!: () => void
  gate = new Promise((resolve) => { release = resolve })
  const lows = [put(9, 'l1'), put(9, 'l2')] // accepted, writes held
  const h2 = put(0, 'h2') // full: must evict l1 (once it lands), not h1
  const l3 = put(9, 'l3') // full again: evicts l2, is not refused
  await new Promise((resolve) => setTimeout(resolve, 20))
  release()
  const settled = await Promise.all([...lows, h2, l3])
  assert.equal(settled.filter((r) => r.startsWith('refused')), [])
  await outbox.flushed()
  const left = (await outbox.read(0, undefined, 10)).items.map((i) => i.entry.id)
  const low = (await outbox.read(9, undefined, 10)).items.map((i) => Buffer.from(i.entry.payload).toString())
  assert.equal(left, [h1, await h2])
  assert.equal(low, ['l3'])
  const ledger = outbox.ledger()
  assert.is(ledger.dropped.full, 2)
  assert.is(ledger.rejectedNew, 0)
  assert.ok(ledger.balanced)
  await outbox.close()
  await store.close()
})

test('cloud-bridge - drop-oldest on a connected bridge flooded faster than mosquitto drains: the ledger is exact per id', async () => {
  const mosq = await Mosquitto.start()
  const bus = await AedesBus.create()
  const store = await LevelStore.create({ dataDir: await tmpDir('evict-bridge') })
  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#')
  const link = await slowLink(mosq.port, 5)
  const bridge = await CloudBridge.create({
    nodeId: 'gw-evict',
    config: {
      url: `mqtt://127.0.0.1:${link.port}`, inflight: 2,
      outbox: { maxMessages: 10, whenFull: 'drop-oldest' },
      forward: [{ from: 'alarm/#', to: 'gw/alarm/', priority: 0 }, { from: 'low/#', to: 'gw/low/', priority: 9 }],
    },
    store, bus, log: testLogger(),
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'connected')
  // Publishes in flights of 50 at once: the outbox (10 messages) fills far faster than a window of 2 drains
  // over a link whose acknowledgements take 5 ms.
  // Alarms (2 per flight) stay below the link's capacity: each flight waits for the previous flight's alarms.
  const sentPayloads = new Map<string, number>()
  let refused = 0
  const highsSent: string[] = []
  for (let round = 0; round < 30; round++) {
    await waitFor(() => highsSent.every((p) => cloud.received.some((r) => r.payload.toString() === p)), 5000, 'the alarms of the previous flight')
    await Promise.all(Array.from({ length: 50 }, async (_, j) => {
      const n = round * 50 + j
      const high = n % 25 === 0
      if (high) highsSent.push(`a${n}`)
      const payload = `${high ? 'a' : 'l'}${n}`
      try {
        await bus.publish({ topic: high ? 'alarm/t' : 'low/t', payload: Buffer.from(payload), qos: 1, retain: false })
        sentPayloads.set(payload, high ? 0 : 9)
      } catch (err) {
        if (!isMechaError(err, 'MECHA_ERR_OUTBOX_FULL')) throw err
        refused++
      }
    }))
  }
  await waitFor(() => bridge.ledger().queued <= 0 && bridge.stats().inflight === 0, 20_000, () => JSON.stringify(bridge.ledger()))
  await bridge.flushed()
  const ledger = bridge.ledger()
  // The subscriber may trail the bridge's PUBACKs by a moment.
  await waitFor(() => cloud.received.length >= ledger.delivered, 5000, () => `${cloud.received.length}/${ledger.delivered} at the cloud`)
  await new Promise((resolve) => setTimeout(resolve, 200))
  // Map payloads to the ids the cloud saw; ids of messages never received are the drops.
  const idOf = new Map(cloud.received.map((r) => [r.payload.toString(), r.id as string]))
  const accepted = new Map<string, number>()
  let unseen = 0
  for (const [payload, priority] of sentPayloads) accepted.set(idOf.get(payload) ?? `dropped-${unseen++}`, priority)
  assert.is(ledger.rejectedNew, refused)
  checkExact('bridge', ledger, accepted, cloud.received.map((r) => r.id as string))
  // Within a topic the survivors still arrive in publish order.
  assert.is(cloud.orderViolations((r) => Number(r.payload.toString().slice(1))), 0)
  await cloud.close(); await bridge.close(); await link.close(); await bus.close(); await store.close(); await mosq.stop()
})

test.run()
