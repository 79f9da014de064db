/**
 * The sender's fast path (a caught-up level takes a new entry with its write instead of reading it back),
 * driven hard without a broker: a fake MQTT client that acknowledges after random delays, a backlog written
 * while offline, live entries written in random bursts while it drains, and reconnects in the middle. Whatever
 * the interleaving, every entry goes out, the first copy of each comes in per-topic order, and the ledger
 * balances. A fast path that let a live entry overtake the backlog, skipped one or sent one twice in a
 * connection fails here.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import { LevelStore, MemoryStore, type Store } from '../../core/store/index.ts'
import { systemClock } from '../../core/clock.ts'
import { Outbox } from '../../cloud-bridge/outbox.ts'
import { Sender } from '../../cloud-bridge/sender.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { testLogger, waitFor } from './helpers.ts'

test.after(async () => { await cleanupTmp() })

/** A small seeded generator, so a failing interleaving can be replayed from the seed in the message. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

interface Sent { topic: string; n: number; conn: number }

/** Stands in for MQTT.js: records publishes, acknowledges each after 0-3 ms (out of order, like a real broker under load). */
function fakeClient (sent: Sent[], conn: number, rand: () => number): { client: MqttClient; cut: () => void } {
  let alive = true
  const client = {
    publish (topic: string, payload: Buffer, _opts: unknown, cb: (err?: Error) => void) {
      if (!alive) return client
      sent.push({ topic, n: Number(payload.toString()), conn })
      setTimeout(() => { if (alive) cb() }, Math.floor(rand() * 4))
      return client
    },
  }
  return { client: client as unknown as MqttClient, cut: () => { alive = false } }
}

async function run (store: Store, seed: number): Promise<{ handedOver: number }> {
  const rand = rng(seed)
  const ns = store.namespace(`fast-${seed}`)
  const log = testLogger()
  const outbox = await Outbox.create({ ns, maxBytes: 1 << 26, maxMessages: 1_000_000, whenFull: 'drop-oldest', clock: systemClock, log })
  const sender = new Sender({
    outbox, nodeId: 'gw', protocolVersion: 5, envelope: 'none', window: 8, clock: systemClock, log, batches: new Map(),
    onRefused: () => {}, onProgress: () => {}, onBroken: () => {},
  })
  outbox.onAppend((item) => { sender.notify(item) })
  const topics = 4
  let n = 0
  const enqueue = (): Promise<unknown> => {
    const i = n++
    // Two priorities (one per topic), so levels interleave as well.
    return outbox.enqueue({ topic: `t/${i % topics}`, localTopic: `s/${i % topics}`, payload: Buffer.from(String(i)), qos: 1, retain: false, priority: (i % topics) % 2 === 0 ? 1 : 5 })
  }
  const sent: Sent[] = []

  // A small backlog while offline, then the link comes up and live traffic arrives while it drains.
  const backlog = 20 + Math.floor(rand() * 200)
  await Promise.all(Array.from({ length: backlog }, enqueue))
  let conn = 0
  let link = fakeClient(sent, ++conn, rand)
  sender.attach(link.client, 65535)
  const live = 600
  const reconnectAt = new Set([Math.floor(rand() * live), Math.floor(rand() * live)])
  const pending: Array<Promise<unknown>> = []
  for (let i = 0; i < live;) {
    const burst = 1 + Math.floor(rand() * 12)
    for (let j = 0; j < burst && i < live; j++, i++) {
      pending.push(enqueue())
      if (reconnectAt.has(i)) {
        link.cut(); sender.detach()
        link = fakeClient(sent, ++conn, rand)
        sender.attach(link.client, 65535)
      }
    }
    // Sometimes the writes land before the next burst, sometimes not.
    if (rand() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.floor(rand() * 3)))
    else await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(pending)
  await waitFor(() => outbox.count === 0 && sender.inflight === 0, 10_000, () => `seed ${seed}: ${outbox.count} still queued`)
  await outbox.flushed()

  const total = backlog + live
  const first = new Map<number, Sent>()
  for (const s of sent) if (!first.has(s.n)) first.set(s.n, s)
  assert.is(first.size, total, `seed ${seed}: every entry sent`)
  const last = new Map<string, number>()
  for (const s of first.values()) {
    assert.ok((last.get(s.topic) ?? -1) < s.n, `seed ${seed}: ${s.topic} #${s.n} after #${last.get(s.topic)}`)
    last.set(s.topic, s.n)
  }
  // Within one connection nothing goes out twice (resends only follow a reconnect).
  const perConn = new Set(sent.map((s) => `${s.conn}/${s.n}`))
  assert.is(perConn.size, sent.length, `seed ${seed}: no duplicate within a connection`)
  const ledger = outbox.ledger()
  assert.ok(ledger.balanced, `seed ${seed}: ${JSON.stringify(ledger)}`)
  assert.is(ledger.delivered, total)
  const handedOver = sender.handedOver
  sender.close()
  await outbox.close()
  return { handedOver }
}

test('sender fast path - backlog then interleaved live bursts and reconnects keep order (memory store)', async () => {
  const store = await MemoryStore.create()
  let handedOver = 0
  for (let seed = 1; seed <= 12; seed++) handedOver += (await run(store, seed)).handedOver
  assert.ok(handedOver > 0, 'the fast path was taken')
  await store.close()
})

test('sender fast path - the same on LevelDB (its iterators see writes before their callbacks run)', async () => {
  const store = await LevelStore.create({ dataDir: await tmpDir('fast-path') })
  let handedOver = 0
  for (let seed = 101; seed <= 106; seed++) handedOver += (await run(store, seed)).handedOver
  assert.ok(handedOver > 0, 'the fast path was taken')
  await store.close()
})

test.run()
