import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { KeyScope } from '../../core/state/index.ts'
import { KeyedMutex } from '../../core/keyed-mutex.ts'

test('state key scope - keyPrefix strategies as Dapr', () => {
  assert.is(KeyScope.from(undefined, 'st').scoped('app', 'k'), 'app||k')
  assert.is(KeyScope.from('AppId', 'st').scoped('', 'k'), 'k', 'no app id: the bare key, as Dapr')
  assert.is(KeyScope.from('name', 'st').scoped('app', 'k'), 'st||k')
  assert.is(KeyScope.from('none', 'st').scoped('app', 'k'), 'k')
  assert.is(KeyScope.from('shared-prefix', 'st').scoped('app', 'k'), 'shared-prefix||k')
  assert.is(KeyScope.from('none', 'st').prefixFor('app'), '')
  assert.throws(() => KeyScope.from('a||b', 'st'), TypeError)
  for (const bad of ['', 'a||b', '||', 5]) {
    try { KeyScope.from(undefined, 'st').scoped('app', bad); assert.unreachable() } catch (err) { assert.is((err as { code?: string }).code, 'ERR_MALFORMED_REQUEST') }
  }
})

test('state key scope - original keys back from stored keys (Dapr GetOriginalStateKey)', () => {
  const s = KeyScope.from(undefined, 'st')
  assert.is(s.original('app||k'), 'k')
  assert.is(s.original('k'), 'k')
  assert.is(s.original('app||k||actor'), 'k')
  assert.is(s.original(s.scoped('app', 'with/slash and spaces')), 'with/slash and spaces')
})

test('state keyed mutex - serialises per key, overlaps across keys, and forgets idle keys', async () => {
  const m = new KeyedMutex()
  const log: string[] = []
  const step = (name: string, ms: number) => async (): Promise<void> => { log.push(`${name}+`); await new Promise((r) => setTimeout(r, ms)); log.push(`${name}-`) }
  await Promise.all([m.run(['a'], step('a1', 20)), m.run(['a'], step('a2', 1)), m.run(['b'], step('b1', 1)), m.run(['b', 'a'], step('ab', 1))])
  assert.ok(log.indexOf('a1-') < log.indexOf('a2+'), 'same key: one after the other')
  assert.ok(log.indexOf('b1+') < log.indexOf('a1-'), 'other keys do not wait')
  assert.ok(log.indexOf('a2-') < log.indexOf('ab+'), 'multi-key holders wait for every key')
  assert.is(m.size, 0)
  await m.run(['x'], async () => { throw new Error('boom') }).catch(() => {})
  assert.is(m.size, 0, 'a failing holder releases its key')
})

test.run()
