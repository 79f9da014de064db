/**
 * inline(): an aedes delivery's first `setImmediate` hop runs at once, its callback stays asynchronous, and the
 * global `setImmediate` is the real one again afterwards in every case (a delivery that writes, one that has
 * nothing to write, one that throws, one that makes no call, one started inside another). The delivery
 * functions below have the shape of aedes' `deliverQoS` (lib/client.js): hop, write, then `setImmediate(cb)`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { inline } from '../../edge/broker/inline-delivery.ts'

const real = globalThis.setImmediate
const turn = (): Promise<void> => new Promise((resolve) => { real(resolve) })

/** aedes' shape: the hop, the write, the callback one immediate after the write. */
function delivery (log: string[]): (p: string, cb: () => void) => void {
  return (p, cb) => {
    setImmediate(() => {
      log.push(`write ${p}`)
      setImmediate(cb)
    })
  }
}

test('inline - the write happens inside the call, the callback one turn later, the global is restored', async () => {
  const log: string[] = []
  let called = 0
  inline(delivery(log), 'a', () => { called++ })
  assert.equal(log, ['write a'], 'written synchronously')
  assert.is(called, 0, 'the callback is not called synchronously')
  assert.is(globalThis.setImmediate, real)
  await turn(); await turn()
  assert.is(called, 1)
})

test('inline - a delivery with nothing to write still calls back asynchronously', async () => {
  let called = 0
  const cb = (): void => { called++ }
  inline((_p: string, done: () => void) => { setImmediate(done) }, 'x', cb)
  assert.is(called, 0, 'aedes\' `setImmediate(cb)` branch stays a real immediate (no recursion into mqemitter)')
  assert.is(globalThis.setImmediate, real)
  await turn()
  assert.is(called, 1)
})

test('inline - in order, like the immediates it replaces', async () => {
  const log: string[] = []
  const d = delivery(log)
  for (const p of ['1', '2', '3']) inline(d, p, () => { log.push(`done ${p}`) })
  await turn(); await turn()
  assert.equal(log, ['write 1', 'write 2', 'write 3', 'done 1', 'done 2', 'done 3'])
})

test('inline - restored when the delivery throws or makes no call, and after a delivery started inside one', () => {
  assert.throws(() => { inline(() => { throw new Error('boom') }, 'p', () => {}) }, /boom/)
  assert.is(globalThis.setImmediate, real)
  inline(() => {}, 'p', () => {})
  assert.is(globalThis.setImmediate, real)
  const log: string[] = []
  inline((p: string, cb: () => void) => {
    setImmediate(() => {
      log.push(`outer ${p}`)
      inline(delivery(log), 'inner', () => {})
      setImmediate(cb)
    })
  }, 'o', () => {})
  assert.equal(log, ['outer o', 'write inner'])
  assert.is(globalThis.setImmediate, real)
})

test.run()
