import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { BaseBinding } from '../../core/bindings/base.ts'
import { BindingRegistry } from '../../core/bindings/registry.ts'
import type { BindingComponent, BindingContext, BindingManifest, BindingResponse } from '../../core/bindings/types.ts'
import type { BusMessage } from '../../core/bus.ts'
import { MechaError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { builtinBindings } from '../../devices/index.ts'
import { ApiServer } from '../../edge/api/server.ts'
import { bindingRoutes } from '../../edge/api/routes/bindings.ts'
import { BindingHost } from '../../edge/bindings/host.ts'
import { appDelivery } from '../../edge/bindings/deliver.ts'
import type { AppCall, AppCallResult } from '../../edge/invoke/app-http.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'

const log = createLogger({ level: 'silent' })

async function until (what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A tiny binding for the host's own logic: `emit(value)` makes an input event; operations echo and fail. */
class EchoBinding extends BaseBinding {
  static made: EchoBinding[] = []
  readonly manifest: BindingManifest = { directions: ['input', 'output'], operations: ['echo', 'fail', 'bytes', 'none'] }
  opened = false
  constructor (c: BindingComponent, ctx: BindingContext) { super(c.name, c.type, ctx); EchoBinding.made.push(this) }
  protected async _open (): Promise<void> { this.opened = true; this.setStatus({ type: 'open' }) }
  protected async _close (): Promise<void> { this.opened = false }
  protected async _invoke (op: string, data: unknown, metadata: Record<string, string>): Promise<BindingResponse> {
    if (op === 'fail') throw new MechaError('MECHA_ERR_BINDING_TIMEOUT', 'the device did not answer')
    if (op === 'bytes') return { data: Buffer.from([1, 2, 3]) }
    if (op === 'none') return {}
    return { data: { echoed: data }, metadata: { seen: metadata.k ?? '', bad: 'a\nb' } }
  }
  emit (value: unknown): void { this.emitEvent({ value, raw: String(value), at: Date.UTC(2024, 0, 1), fields: { extra: 1 } }) }
  fault (): void { this.emitError({ code: 'MECHA_ERR_BINDING_FRAME', message: 'bad frame', raw: '??', at: Date.UTC(2024, 0, 1) }) }
}

const registry = new BindingRegistry({
  'bindings.echo': { validate: () => [], load: async () => ({ type: 'bindings.echo', validate: () => [], create: async (c, ctx) => new EchoBinding(c, ctx) }) },
  'bindings.broken': { validate: () => [], load: async () => { throw new Error('addon missing') } },
})
const comp = (name: string, metadata: Record<string, string> = {}, type = 'bindings.echo'): BindingComponent => ({ name, type, metadata })

async function collect (bus: AedesBus, filter: string): Promise<Array<{ topic: string; json: any }>> {
  const got: Array<{ topic: string; json: any }> = []
  await bus.subscribe(filter, (m: BusMessage) => { got.push({ topic: m.topic, json: JSON.parse(m.payload.toString()) }) })
  return got
}

test('bindings host - events and errors go to devices/{name}/… as JSON; topics configurable', async () => {
  const bus = await AedesBus.create()
  EchoBinding.made = []
  const got = await collect(bus, 'devices/#')
  const custom = await collect(bus, 'plant/#')
  const host = await BindingHost.create({ registry, bus, log }, [comp('probe'), comp('other', { eventsTopic: 'plant/line1/temp', errorsTopic: 'plant/line1/err' })])
  const [probe, other] = EchoBinding.made
  probe!.emit(21.5); probe!.fault(); other!.emit('x')
  await until('messages', () => got.length === 2 && custom.length === 1)
  assert.equal(got[0], { topic: 'devices/probe/events', json: { binding: 'probe', ts: '2024-01-01T00:00:00.000Z', value: 21.5, raw: '21.5', extra: 1 } })
  assert.equal(got[1], { topic: 'devices/probe/errors', json: { binding: 'probe', ts: '2024-01-01T00:00:00.000Z', code: 'MECHA_ERR_BINDING_FRAME', message: 'bad frame', raw: '??' } })
  assert.is(custom[0]!.topic, 'plant/line1/temp')
  const st = host.status().find((s) => s.name === 'probe')!
  assert.equal([st.status.type, st.counters.events, st.counters.errors], ['open', 1, 1])
  await host.close()
  assert.ok(EchoBinding.made.every((b) => !b.opened), 'close closes every binding')
  await bus.close()
})

test('bindings host - commands get replies with the correlation id, errors too', async () => {
  const bus = await AedesBus.create()
  const replies = await collect(bus, 'devices/probe/replies')
  const host = await BindingHost.create({ registry, bus, log }, [comp('probe')])
  const send = async (body: unknown) => { await bus.publish({ topic: 'devices/probe/commands', payload: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), qos: 1, retain: false }) }
  await send({ operation: 'echo', data: { a: 1 }, metadata: { k: 'v' }, correlationId: 'c1' })
  await send({ operation: 'fail', correlationId: 'c2' })
  await send({ operation: 'nope', correlationId: 3 })
  await send('not json')
  await until('4 replies', () => replies.length === 4)
  const by = (id: unknown) => replies.find((r) => r.json.correlationId === id)!.json
  assert.equal(by('c1'), { binding: 'probe', correlationId: 'c1', ok: true, data: { echoed: { a: 1 } }, metadata: { seen: 'v', bad: 'a\nb' } })
  assert.equal(by('c2').error, { code: 'MECHA_ERR_BINDING_TIMEOUT', message: 'the device did not answer' })
  assert.is(by(3).error.code, 'MECHA_ERR_BINDING_OPERATION')
  assert.is(replies.find((r) => r.json.correlationId === undefined)!.json.error.code, 'MECHA_ERR_BINDING_DATA')
  await host.close(); await bus.close()
})

test('bindings host - reconfigure opens added, closes removed, recreates changed, touches nothing else; one broken binding does not stop others', async () => {
  const bus = await AedesBus.create()
  EchoBinding.made = []
  const host = await BindingHost.create({ registry, bus, log }, [comp('a', { x: '1', y: '2' }), comp('b'), comp('c')])
  const [a, b, c] = EchoBinding.made
  const r = await host.reconfigure([comp('a', { y: '2', x: '1' }), comp('b', { x: 'changed' }), comp('d'), comp('bad', {}, 'bindings.broken')])
  assert.equal(r, { added: ['d', 'bad'], removed: ['c'], changed: ['b'] })
  assert.is(host.get('a'), a, 'metadata order is not a change')
  assert.ok(a!.opened)
  assert.not.ok(b!.opened); assert.not.ok(c!.opened)
  assert.is.not(host.get('b'), b)
  assert.ok((host.get('b') as EchoBinding).opened)
  assert.equal(host.names(), ['a', 'b', 'bad', 'd'])
  const bad = host.status().find((s) => s.name === 'bad')!
  assert.is(bad.status.type, 'error')
  try { await host.invoke('bad', 'echo', 1); assert.unreachable() } catch (err) { assert.is((err as MechaError).code, 'MECHA_ERR_BINDING_UNAVAILABLE') }
  await host.close(); await bus.close()
})

test('bindings host - input events reach the app in order; non-2xx retried with backoff, bounded', async () => {
  const bus = await AedesBus.create()
  EchoBinding.made = []
  const calls: AppCall[] = []
  let failures = 2
  const call = async (c: AppCall): Promise<AppCallResult> => {
    calls.push(c)
    if (c.path === '/never') return { kind: 'response', status: 500, headers: {}, body: Buffer.alloc(0) }
    if (failures-- > 0) return { kind: 'unreachable', message: 'ECONNREFUSED' }
    return { kind: 'response', status: 200, headers: {}, body: Buffer.alloc(0) }
  }
  const deliverToApp = appDelivery({ host: '127.0.0.1', port: 1, call, log, maxAttempts: 3, backoff: { initialMs: 1, maxMs: 5 } })
  const host = await BindingHost.create({ registry, bus, log, deliverToApp }, [comp('probe'), comp('routed', { route: '/never' })])
  const [probe, routed] = EchoBinding.made
  probe!.emit(1); probe!.emit(2); routed!.emit(3)
  await until('deliveries', () => calls.filter((c) => c.path === '/probe').length === 4 && calls.filter((c) => c.path === '/never').length === 3)
  const probeCalls = calls.filter((c) => c.path === '/probe').map((c) => JSON.parse(String(c.body)).value)
  assert.equal(probeCalls, [1, 1, 1, 2], 'the first event retried until acked, then the second')
  assert.is(calls[0]!.method, 'POST')
  await until('dropped counted', () => host.status().find((s) => s.name === 'routed')!.counters.deliveryDropped === 1)
  await host.close(); await bus.close()
})

test('bindings API - POST /v1.0/bindings/{name}: data, metadata headers, 204, Dapr errors', async () => {
  const bus = await AedesBus.create()
  const host = await BindingHost.create({ registry, bus, log }, [comp('probe')])
  const api = await ApiServer.create({ host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, log }, [(app) => bindingRoutes(app, host)])
  const post = async (name: string, payload: unknown) => await api.app.inject({ method: 'POST', url: `/v1.0/bindings/${name}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) })
  let r = await post('probe', { operation: 'echo', data: 'hi', metadata: { k: 'v' } })
  assert.is(r.statusCode, 200)
  assert.equal(r.json(), { echoed: 'hi' })
  assert.is(r.headers['metadata.seen'], 'v')
  assert.is(r.headers['metadata.bad'], undefined, 'a value with a newline cannot be a header')
  r = await post('probe', { operation: 'none' })
  assert.is(r.statusCode, 204)
  r = await post('probe', { operation: 'bytes' })
  assert.equal([r.statusCode, r.headers['content-type'], [...r.rawPayload]], [200, 'application/octet-stream', [1, 2, 3]])
  r = await post('nobody', { operation: 'echo' })
  assert.equal([r.statusCode, r.json().errorCode], [500, 'ERR_INVOKE_OUTPUT_BINDING'])
  assert.match(r.json().message, "couldn't find output binding nobody")
  r = await post('probe', { operation: 'fail' })
  assert.equal([r.statusCode, r.json().errorCode], [500, 'ERR_INVOKE_OUTPUT_BINDING'])
  assert.match(r.json().message, 'MECHA_ERR_BINDING_TIMEOUT')
  r = await post('probe', { data: 1 })
  assert.equal([r.statusCode, r.json().errorCode], [400, 'ERR_MALFORMED_REQUEST'])
  await api.close(); await host.close(); await bus.close()
})

test('bindings registry - validates at check time without loading drivers; unknown types and host keys reported', async () => {
  const reg = new BindingRegistry(builtinBindings)
  assert.equal(reg.types(), ['bindings.cron', 'bindings.gpio', 'bindings.modbus', 'bindings.serial'])
  assert.equal(reg.validate(comp('x', {}, 'bindings.nope')).map((p) => p.path), ['spec.type'])
  assert.equal(reg.validate(comp('s', { path: '/dev/ttyUSB0', eventsTopic: 'a/#' }, 'bindings.serial')).map((p) => p.path), ['spec.metadata.eventsTopic'])
  assert.equal(reg.validate(comp('g', { sysfs: '4', direction: 'sideways' }, 'bindings.gpio')).map((p) => p.path), ['spec.metadata.direction'])
  try { await reg.create(comp('s', { baudRate: '7' }, 'bindings.serial'), { log }); assert.unreachable() } catch (err) {
    assert.is((err as MechaError).code, 'MECHA_ERR_CONFIG_INVALID')
  }
  // No static import path from devices/index.ts reaches the serialport addon.
  const seen = new Set<string>()
  const walk = async (url: URL): Promise<void> => {
    if (seen.has(url.href)) return
    seen.add(url.href)
    const src = await readFile(url, 'utf8')
    for (const m of src.matchAll(/^import\s+(?!type\b)[^'"]*['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!
      assert.not.ok(spec === 'serialport' || spec.startsWith('@serialport/'), `${url.pathname} imports ${spec} statically`)
      if (spec.startsWith('.')) await walk(new URL(spec, url))
    }
  }
  await walk(new URL('../../devices/index.ts', import.meta.url))
  assert.ok(seen.size >= 3)
})

test.run()
