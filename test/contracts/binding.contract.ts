import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Binding, BindingStatus } from '../../core/bindings/types.ts'
import { isMechaError } from '../../core/errors.ts'

export interface BindingUnderTest {
  /** A fresh binding, created but not opened, whose device is present. */
  binding: Binding
  /** True once everything the binding held is released (port closed, line unexported, child killed). */
  released?: () => Promise<boolean>
  /** Tears down the fake device. */
  cleanup?: () => Promise<void>
}

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** What every Binding promises (core/bindings/types.ts). `setup` returns a fresh binding over a present device. */
export function bindingContract (name: string, setup: () => Promise<BindingUnderTest>): void {
  const test = suite<{ t: BindingUnderTest; seen: BindingStatus[] }>(`${name} binding contract`)
  test.before.each(async (ctx) => {
    ctx.t = await setup()
    ctx.seen = []
    ctx.t.binding.status.on((s) => { ctx.seen.push(s) })
  })
  test.after.each(async (ctx) => {
    await ctx.t.binding.close()
    await ctx.t.cleanup?.()
  })

  test('binding - manifest lists its directions and, for outputs, operations', ({ t }) => {
    const m = t.binding.manifest
    assert.ok(m.directions.length > 0)
    for (const d of m.directions) assert.ok(d === 'input' || d === 'output', d)
    assert.ok(m.operations.every((o) => typeof o === 'string' && o !== ''))
    if (m.directions.includes('output')) assert.ok(m.operations.length > 0, 'an output binding has operations')
    assert.type(t.binding.name, 'string')
    assert.type(t.binding.type, 'string')
  })

  test('binding - open is idempotent and reaches open through opening', async ({ t, seen }) => {
    const b = t.binding
    assert.not.equal(b.status.current.type, 'open')
    await Promise.all([b.open(), b.open()])
    await b.open()
    await until('status open', () => b.status.current.type === 'open')
    const types = seen.map((s) => s.type)
    assert.is(types[0], 'opening')
    assert.is(types.filter((x) => x === 'opening').length, 1, 'opened once')
  })

  test('binding - an unknown operation is a clear error and is counted', async ({ t }) => {
    await t.binding.open()
    const before = t.binding.counters().invokes
    try {
      await t.binding.invoke('no-such-operation', undefined, {})
      assert.unreachable('should have thrown')
    } catch (err) {
      assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_OPERATION'), String(err))
      assert.match((err as Error).message, 'no-such-operation')
    }
    assert.is(t.binding.counters().invokes, before + 1)
  })

  test('binding - counters start at zero and are copies', ({ t }) => {
    const c = t.binding.counters()
    assert.equal({ events: c.events, errors: c.errors, reconnects: c.reconnects, invokes: c.invokes }, { events: 0, errors: 0, reconnects: 0, invokes: 0 })
    c.events = 99
    assert.is(t.binding.counters().events, 0)
  })

  test('binding - close is idempotent, ends in closed, ends iterators, releases resources', async ({ t, seen }) => {
    const b = t.binding
    await b.open()
    await until('status open', () => b.status.current.type === 'open')
    const it = b.status[Symbol.asyncIterator]()
    await Promise.all([b.close(), b.close()])
    await b.close()
    assert.is(b.status.current.type, 'closed')
    assert.is(seen.at(-1)?.type, 'closed')
    assert.is(seen.filter((s) => s.type === 'closed').length, 1, 'closed once')
    const drained: string[] = []
    for (let r = await it.next(), i = 0; r.done !== true && i < 100; r = await it.next(), i++) drained.push(r.value.type)
    assert.is(drained.at(-1), 'closed', 'an iterator ends after close')
    if (t.released !== undefined) await until('resources released', t.released)
  })

  test('binding - after close, invoke and open are refused with a binding error', async ({ t }) => {
    const b = t.binding
    await b.open()
    await b.close()
    const op = b.manifest.operations[0]
    if (op !== undefined) {
      try { await b.invoke(op, undefined, {}); assert.unreachable('should have thrown') } catch (err) {
        assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_UNAVAILABLE'), String(err))
      }
    }
    try { await b.open(); assert.unreachable('should have thrown') } catch (err) {
      assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_UNAVAILABLE'), String(err))
    }
  })

  test.run()
}
