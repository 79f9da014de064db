/**
 * The composition root exposes no parts (issue 10, CONVENTIONS 10): a started `Runtime` has no own properties
 * (its parts are `#private`), its prototype offers only the lifecycle methods and getters of plain data, and
 * those getters return plain data (no broker, store or manager inside). Tests and embedders see a runtime
 * through its API, `/metrics` and `/v1.0/metadata`, as users do (test/helpers/runtime-view.ts).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

/** The whole public surface. A new entry here is a decision: a part must never be one. */
const METHODS = ['reconfigure', 'reloadFromFile', 'stop']
const DATA_GETTERS = ['addresses', 'config', 'phase']
const STATICS = ['start']

/** Where a value that is not plain data (a class instance, a function) sits in `v`, or undefined. */
function notPlain (v: unknown, path: string, seen = new Set<unknown>()): string | undefined {
  if (v === null || ['string', 'number', 'boolean', 'undefined', 'bigint'].includes(typeof v)) return undefined
  if (typeof v !== 'object') return `${path} is a ${typeof v}`
  if (seen.has(v)) return undefined
  seen.add(v)
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return `${path} is a ${proto?.constructor?.name ?? 'class instance'}`
  for (const [k, x] of Object.entries(v)) {
    const bad = notPlain(x, `${path}.${k}`, seen)
    if (bad !== undefined) return bad
  }
  return undefined
}

test('architecture runtime surface - a started Runtime has no public fields, only lifecycle methods and getters of plain data', async () => {
  const rt = await startRuntime({ apps: [{ id: 'app', appPort: 1 }], cloud: { url: 'mqtt://127.0.0.1:1', forward: [{ from: 'x/#' }] } })
  try {
    // Any field that is not `#private` (a public one, or TypeScript's `private`, reachable with a cast) is here.
    assert.equal(Object.getOwnPropertyNames(rt), [], 'own properties of a started Runtime')
    assert.equal(Object.getOwnPropertySymbols(rt), [])
    const methods: string[] = []
    const getters: string[] = []
    for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(Runtime.prototype))) {
      if (name === 'constructor') continue
      if (d.get !== undefined || d.set !== undefined) getters.push(name)
      else if (typeof d.value === 'function') methods.push(name)
      else assert.unreachable(`Runtime.prototype.${name} is neither a method nor a getter`)
    }
    assert.equal(methods.sort(), METHODS)
    assert.equal(getters.sort(), DATA_GETTERS)
    for (const name of DATA_GETTERS) {
      const bad = notPlain((rt as unknown as Record<string, unknown>)[name], name)
      assert.is(bad, undefined, `rt.${name} must be plain data: ${bad}`)
    }
    assert.equal(Object.getOwnPropertyNames(Runtime).filter((n) => !['length', 'name', 'prototype'].includes(n)).sort(), STATICS)
  } finally {
    await rt.stop()
    await cleanupTmp()
  }
})

test('architecture runtime surface - the check sees a public field and a part behind a getter', () => {
  // The same checks on a class that breaks the rule, so a change to them that lets everything through fails here.
  class Leaky { broker = new Map(); get store (): Map<string, string> { return new Map() } }
  const leaky = new Leaky()
  assert.equal(Object.getOwnPropertyNames(leaky), ['broker'])
  assert.match(notPlain(leaky.store, 'store') ?? '', 'store is a Map')
  assert.is(notPlain({ a: [1, { b: 'c' }], d: null }, 'x'), undefined)
})

test.run()
