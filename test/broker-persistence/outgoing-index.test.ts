/**
 * OutgoingIndex - the map lookups give the same answers as the reference persistence's scan of the queue, in
 * queue order, over random enqueues, packet-id assignments, replacements (PUBREL) and acknowledgements,
 * including restored entries of an earlier broker that repeat packet ids and broker counters.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { OutgoingIndex, entryOf, type OutgoingEntry } from '../../edge/broker/persistence/outgoing-index.ts'
import type { BrokerPacket } from '../../edge/broker/persistence/types.ts'

function scan (list: OutgoingEntry[], packet: BrokerPacket): { entry: OutgoingEntry; replace: boolean } | undefined {
  for (const entry of list) {
    if (entry.brokerId === packet.brokerId) {
      if (entry.brokerCounter === packet.brokerCounter) return { entry, replace: false }
    } else if (entry.messageId === packet.messageId) return { entry, replace: true }
  }
  return undefined
}

/** A small deterministic PRNG, so a failure replays. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

test('outgoing-index - lookups agree with the reference scan', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed)
    const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]
    const index = new OutgoingIndex()
    const model = new Map<string, OutgoingEntry[]>()
    const brokers = ['b-old', 'b-now', 'b-now']
    const clients = ['c1', 'c2']
    let seq = 0
    const used = new Set<number>()
    for (let step = 0; step < 400; step++) {
      const c = pick(clients)
      const list = model.get(c) ?? []
      const op = r()
      if (op < 0.35) {
        // Enqueue, sometimes out of sequence order, sometimes repeating a counter or carrying an old packet id.
        // (Sequence numbers are unique, as the persistence hands them out.)
        let s = r() < 0.1 ? seq - 1 - Math.floor(r() * 3) : (seq += 4)
        if (s < 1 || used.has(s)) s = (seq += 4)
        used.add(s)
        const packet: BrokerPacket = { brokerId: pick(brokers), brokerCounter: Math.floor(r() * 30), messageId: r() < 0.3 ? Math.floor(r() * 8) : undefined }
        const e = entryOf(s, packet)
        index.add(c, e)
        let i = list.length
        while (i > 0 && list[i - 1].seq > e.seq) i--
        list.splice(i, 0, e)
        model.set(c, list)
      } else if (op < 0.7 && list.length > 0) {
        // outgoingUpdate with a packet of this or another broker (a PUBREL has none).
        const target = pick(list)
        const packet: BrokerPacket = r() < 0.7
          ? { brokerId: target.brokerId, brokerCounter: target.brokerCounter, messageId: Math.floor(r() * 8) }
          : { brokerId: r() < 0.5 ? undefined : pick(brokers), brokerCounter: Math.floor(r() * 30), messageId: Math.floor(r() * 8), cmd: 'pubrel' }
        const want = scan(list, packet)
        const got = index.findForUpdate(c, packet)
        assert.is(got?.entry, want?.entry, `seed ${seed} step ${step}: same entry`)
        assert.is(got?.replace, want?.replace, `seed ${seed} step ${step}: same kind`)
        if (want !== undefined) {
          if (want.replace) index.replace(c, want.entry, entryOf(want.entry.seq, packet))
          else index.setMessageId(c, want.entry, packet.messageId)
        }
      } else if (list.length > 0) {
        // PUBACK / PUBCOMP: the first entry holding the packet id goes.
        const messageId = r() < 0.9 ? Math.floor(r() * 8) : undefined
        const want = list.find((e) => e.messageId === messageId)
        const got = index.findByMessageId(c, messageId)
        assert.is(got, want, `seed ${seed} step ${step}: same entry by packet id`)
        if (want !== undefined) { index.remove(c, want); list.splice(list.indexOf(want), 1) }
      }
      for (const id of clients) assert.equal(index.snapshot(id).map((e) => e.seq), (model.get(id) ?? []).map((e) => e.seq), `seed ${seed} step ${step}: queue order`)
    }
  }
})

test.run()
