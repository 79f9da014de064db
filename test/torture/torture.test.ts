/**
 * A few crash-torture rounds in `npm test` (two per durability mode); `npm run torture` runs many more.
 * The seeds are random by default (printed as `seed=<n>`); MECHA_TORTURE_SEED fixes the first one to replay.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runRound, type Durability } from './round.ts'
import { roundLine } from './summary.ts'
import { checkDeliveries, checkRetained, checkState } from './checks.ts'
import { Journal, type SentMessage } from './workload.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

const base = process.env.MECHA_TORTURE_SEED === undefined ? Math.floor(Math.random() * 1_000_000) : Number(process.env.MECHA_TORTURE_SEED)
// The checks must be able to fail: a journal and receptions made by hand, with one of each fault.
test('torture - the checks catch loss, reordering, duplicates, stale values and partial transactions', () => {
  const j = new Journal()
  const send = (topic: string, from: string, seq: number, acked: boolean, retain = false): string => j.record({ topic, from, seq, acked, retain } satisfies SentMessage)
  const a0 = send('t/0', 'p0', 0, true); const a1 = send('t/0', 'p0', 1, true); const a2 = send('t/0', 'p0', 2, true)
  const b0 = send('t/0', 'p1', 0, true); send('t/0', 'p1', 1, false)
  const got = [a1, a0, a1, b0].map((payload) => ({ topic: 't/0', payload })) // a2 lost, a0 after a1, a1 twice
  const d = checkDeliveries(j, got, () => true)
  assert.equal([d.acked, d.lost, d.orderViolations, d.duplicates], [4, 1, 1, 1])
  assert.equal(d.lostSample, [`t/0 ${a2}`])
  assert.is(checkDeliveries(j, [{ topic: 't/9', payload: a0 }], () => true).phantoms.length, 1, 'a message on the wrong topic')

  const r1 = send('r/0', 'ret', 10, true, true); const r2 = send('r/0', 'ret', 11, false, true)
  assert.is(checkRetained(j, new Map([['r/0', r1]])).lost, 0)
  assert.is(checkRetained(j, new Map([['r/0', r2]])).lost, 0, 'a later in-flight value is allowed')
  j.record({ topic: 'r/0', from: 'ret', seq: 9, acked: true, retain: true })
  assert.is(checkRetained(j, new Map([['r/0', 'ret:9']])).lost, 1, 'an older value is a loss')
  assert.is(checkRetained(j, new Map()).lost, 1, 'no value is a loss')

  const s = new Journal()
  s.writes.push({ worker: 'w0', kind: 'save', values: new Map([['k1', { n: 1 }], ['k2', { n: 2 }]]), status: 'acked' })
  s.writes.push({ worker: 'w0', kind: 'transaction', values: new Map<string, unknown>([['k1', { n: 3 }], ['k2', null]]), status: 'unknown' })
  assert.equal([checkState(s, new Map([['k1', { n: 1 }], ['k2', { n: 2 }]])).lost, checkState(s, new Map([['k1', { n: 3 }]])).lost], [0, 0], 'old or new')
  const partial = checkState(s, new Map([['k1', { n: 3 }], ['k2', { n: 2 }]]))
  assert.equal([partial.lost, partial.atomicityViolations], [0, 1], 'each key allowed, the pair is not')
  assert.is(checkState(s, new Map([['k2', { n: 2 }]])).lost, 1, 'an acknowledged value gone')
})

const modes: Durability[] = ['process', 'power']

modes.forEach((durability, m) => {
  test(`torture - kill -9 under mixed load loses nothing acknowledged (durability ${durability}, 2 rounds)`, async () => {
    for (let i = 0; i < 2; i++) {
      const r = await runRound({ seed: base + 2 * m + i, durability })
      console.log(roundLine(r))
      assert.ok(r.kinds.publish.checked + r.kinds.state.checked > 0, `seed=${r.seed}: the round checked nothing`)
      assert.equal(r.failures, [], `seed=${r.seed} durability=${durability}:\n${r.failures.join('\n')}`)
    }
  })
})

test.run()
