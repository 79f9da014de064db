import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { rm } from 'node:fs/promises'
import type { Binding, BindingErrorEvent, BindingEvent } from '../../core/bindings/types.ts'
import { ManualClock } from '../../core/clock.ts'
import { isMechaError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { serialFactory } from '../../devices/serial/index.ts'
import { parseSerialMetadata } from '../../devices/serial/validate.ts'
import { decodeFrame, encodeData } from '../../devices/serial/codec.ts'
import { Framer } from '../../devices/serial/framing.ts'
import { bindingContract } from '../contracts/binding.contract.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { DeviceEnd, ptyPair, type PtyPair } from './socat.ts'

const log = createLogger({ level: 'silent' })
const opts = (m: Record<string, string>) => parseSerialMetadata({ path: '/dev/ttyUSB0', ...m }).options

async function until (what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// --- metadata, framing and parsing (no device)

test('serial - metadata problems are all listed with their paths', () => {
  const { problems } = parseSerialMetadata({ baudRate: '12345', dataBits: '9', parity: 'sometimes', framing: 'length', parse: 'regex', pattern: '(\\d+)', scale: 'x:', colour: 'red' })
  const paths = problems.map((p) => p.path).sort()
  assert.equal(paths, ['spec.metadata.baudRate', 'spec.metadata.colour', 'spec.metadata.dataBits', 'spec.metadata.length', 'spec.metadata.parity', 'spec.metadata.path', 'spec.metadata.pattern', 'spec.metadata.scale'])
  assert.equal(parseSerialMetadata({ path: '/dev/ttyUSB0', eventsTopic: 'x/y', route: '/r' }).problems, [], 'host keys are known')
  assert.is(parseSerialMetadata({ path: 'usb-FTDI_FT232R-if00-port0' }).options.path, '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0')
  assert.equal(parseSerialMetadata({ path: '/dev/ttyUSB0', scale: '0.1' }).problems.map((p) => p.path), ['spec.metadata.scale'], 'scale needs a parse mode')
})

test('serial - delimiter framing strips a trailing CR, keeps partial frames, drops overlong ones', () => {
  const frames: string[] = []; const over: number[] = []
  const f = new Framer(opts({ maxFrameBytes: '8' }), new ManualClock(), (b) => frames.push(b.toString()), (b) => over.push(b.length))
  f.push(Buffer.from('a=1\r\nb='))
  f.push(Buffer.from('2\n\n0123456789\nok\n'))
  assert.equal(frames, ['a=1', 'b=2', '', 'ok'])
  assert.equal(over, [10])
  const g: string[] = []
  const f2 = new Framer(opts({ delimiter: '\\r\\n' }), new ManualClock(), (b) => g.push(b.toString()), () => {})
  f2.push(Buffer.from('x\ny\r\n'))
  assert.equal(g, ['x\ny'])
})

test('serial - length and inter-byte timeout framing', () => {
  const frames: string[] = []
  const f = new Framer(opts({ framing: 'length', length: '3' }), new ManualClock(), (b) => frames.push(b.toString('hex')), () => {})
  f.push(Buffer.from([1, 2])); f.push(Buffer.from([3, 4, 5, 6, 7]))
  assert.equal(frames, ['010203', '040506'])
  const clock = new ManualClock()
  const t: string[] = []
  const g = new Framer(opts({ framing: 'timeout', interByteTimeoutMs: '20' }), clock, (b) => t.push(b.toString()), () => {})
  g.push(Buffer.from('ab')); clock.advance(10); g.push(Buffer.from('c')); clock.advance(19)
  assert.equal(t, [])
  clock.advance(1)
  assert.equal(t, ['abc'])
  g.push(Buffer.from('d')); g.reset(); clock.advance(100)
  assert.equal(t, ['abc'], 'reset drops a partial frame')
})

test('serial - parse json, kv, regex, number; scale and offset per field or for all', () => {
  const d = (m: Record<string, string>, s: string) => decodeFrame(Buffer.from(s), opts(m)).value
  assert.equal(d({ parse: 'kv', scale: 'temp:0.1', offset: 'temp:-2' }, 'temp=215, hum=40;ok=true name=x'), { temp: 19.5, hum: 40, ok: true, name: 'x' })
  assert.equal(d({ parse: 'json', scale: '2' }, '{"a":1.5,"b":"s","c":[1]}'), { a: 3, b: 's', c: [1] })
  assert.equal(d({ parse: 'regex', pattern: 'T=(?<t>-?[\\d.]+)C H=(?<h>\\d+)%', scale: 't:0.1' }, 'T=215C H=40%'), { t: 21.5, h: 40 })
  assert.is(d({ parse: 'number', scale: '0.01', offset: '1' }, ' 2150 '), 22.5)
  assert.is(d({}, 'plain text'), 'plain text')
  assert.equal(decodeFrame(Buffer.from([0xde, 0xad]), opts({ encoding: 'hex' })), { value: 'dead', raw: 'dead' })
  assert.equal(decodeFrame(Buffer.from([1, 255]), opts({ encoding: 'bytes' })), { value: [1, 255], raw: '01ff' })
  assert.throws(() => d({ parse: 'json' }, '{nope'), /invalid JSON/)
  assert.throws(() => d({ parse: 'number' }, '12a'), /not a number/)
  assert.equal(encodeData('AQI=', 'base64'), Buffer.from([1, 2]))
  assert.equal(encodeData('01 ff', 'hex'), Buffer.from([1, 255]))
  assert.equal(encodeData({ a: 1 }, 'utf8').toString(), '{"a":1}')
  assert.throws(() => encodeData('zz', 'hex'), (e: unknown) => isMechaError(e, 'MECHA_ERR_BINDING_DATA'))
})

// --- over real pseudo-terminals

let dir: string
let pair: PtyPair | undefined
let binding: Binding | undefined
let device: DeviceEnd | undefined

test.before(async () => { dir = await tmpDir('serial') })
test.after.each(async () => {
  await binding?.close(); binding = undefined
  await device?.close(); device = undefined
  await pair?.kill(); pair = undefined
  await rm(join(dir, 'A'), { force: true }); await rm(join(dir, 'B'), { force: true })
})
test.after(cleanupTmp)

async function setup (meta: Record<string, string>): Promise<{ b: Binding; events: BindingEvent[]; errors: BindingErrorEvent[] }> {
  pair = await ptyPair(join(dir, 'A'), join(dir, 'B'))
  const b = await serialFactory.create({ name: 'probe', type: 'bindings.serial', metadata: { path: pair.a, baudRate: '115200', reconnectMinMs: '20', reconnectMaxMs: '200', requestTimeoutMs: '1000', ...meta } }, { log })
  binding = b
  const events: BindingEvent[] = []; const errors: BindingErrorEvent[] = []
  b.onEvent = (e) => events.push(e)
  b.onError = (e) => errors.push(e)
  await b.open()
  await until('open', () => b.status.current.type === 'open')
  device = await DeviceEnd.open(pair.b)
  return { b, events, errors }
}

test('serial - lines in become parsed events; a malformed line is an error event and later lines still arrive', async () => {
  const { b, events, errors } = await setup({ parse: 'json', scale: 'temp:0.1' })
  await device!.write('{"temp":215}\r\n{"temp":')
  await device!.write('220}\nnot json\n{"temp":225}\n')
  await until('3 events', () => events.length === 3)
  assert.equal(events.map((e) => e.value), [{ temp: 21.5 }, { temp: 22 }, { temp: 22.5 }])
  assert.equal(events.map((e) => e.raw), ['{"temp":215}', '{"temp":220}', '{"temp":225}'])
  assert.is(errors.length, 1)
  assert.is(errors[0]!.code, 'MECHA_ERR_BINDING_FRAME')
  assert.is(errors[0]!.raw, 'not json')
  const c = b.counters()
  assert.is(c.events, 3); assert.is(c.errors, 1)
  assert.ok(typeof c.lastEventAt === 'number')
})

test('serial - request writes and returns the next frame; write appends the delimiter; writers never interleave', async () => {
  const { b, events } = await setup({ parse: 'kv' })
  const answer = (async () => { await device!.waitFor('READ?\n'); await device!.write('v=42\n') })()
  const r = await b.invoke('request', 'READ?', {})
  await answer
  assert.equal(r.data, { v: 42 })
  assert.equal(r.metadata, { raw: 'v=42' })
  assert.is(events.length, 0, 'the reply is the answer, not an event')
  const big = (c: string) => c.repeat(3000)
  await Promise.all([b.invoke('write', big('x'), {}), b.invoke('write', big('y'), {}), b.invoke('write', 'raw', { appendDelimiter: 'false' })])
  const got = await device!.waitFor('raw')
  assert.is(got, big('x') + '\n' + big('y') + '\nraw')
})

test('serial - a request nobody answers times out with MECHA_ERR_BINDING_TIMEOUT', async () => {
  const { b } = await setup({})
  const started = Date.now()
  try { await b.invoke('request', 'PING', { timeoutMs: '150' }); assert.unreachable() } catch (err) {
    assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_TIMEOUT'), String(err))
  }
  assert.ok(Date.now() - started >= 140)
  await device!.waitFor('PING\n')
})

test('serial - unplug: disconnected with a reason, writes fail clearly; replug: recovers by itself and loses no later line', async () => {
  const { b, events } = await setup({})
  await device!.write('before\n')
  await until('first event', () => events.length === 1)
  const statuses: string[] = []
  b.status.on((s) => statuses.push(s.type === 'disconnected' ? `disconnected:${s.reason !== '' ? 'reason' : ''}` : s.type))
  await device!.close(); device = undefined
  await pair!.kill(); pair = undefined
  await until('disconnected', () => b.status.current.type === 'disconnected')
  try { await b.invoke('write', 'x', {}); assert.unreachable() } catch (err) {
    assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_UNAVAILABLE'), String(err))
    assert.match((err as Error).message, 'disconnected')
  }
  await new Promise((resolve) => setTimeout(resolve, 150)) // a few failed reopen attempts while unplugged
  pair = await ptyPair(join(dir, 'A'), join(dir, 'B'))
  await until('reopened', () => b.status.current.type === 'open')
  device = await DeviceEnd.open(pair.b)
  const lines = Array.from({ length: 50 }, (_, i) => `after-${i}`)
  for (const l of lines) await device.write(l + '\n')
  await until('every line after the replug', () => events.length === 1 + lines.length)
  assert.equal(events.map((e) => e.value), ['before', ...lines])
  assert.is(b.counters().reconnects, 1)
  assert.ok(statuses.includes('disconnected:reason'))
  assert.is(statuses.at(-1), 'open')
  await b.invoke('write', 'back', {})
  await device.waitFor('back\n')
})

test('serial - an absent device is not an error at open: disconnected and retrying', async () => {
  const b = await serialFactory.create({ name: 'gone', type: 'bindings.serial', metadata: { path: join(dir, 'nothing-here'), reconnectMinMs: '20', reconnectMaxMs: '40' } }, { log })
  binding = b
  await b.open()
  const s = b.status.current
  assert.is(s.type, 'disconnected')
  assert.match(s.type === 'disconnected' ? s.reason : '', 'nothing-here')
})

test.run()

bindingContract('serial (socat)', async () => {
  const cdir = await tmpDir('serial-contract')
  const p = await ptyPair(join(cdir, 'A'), join(cdir, 'B'))
  const b = await serialFactory.create({ name: 'c', type: 'bindings.serial', metadata: { path: p.a } }, { log })
  return {
    binding: b,
    // Once the binding let go of A, another process may take its exclusive lock.
    released: async () => {
      const { SerialPort } = await import('serialport')
      const probe = new SerialPort({ path: p.a, baudRate: 9600, autoOpen: false })
      const ok = await new Promise<boolean>((resolve) => { probe.open((err) => { resolve(err == null) }) })
      if (ok) await new Promise<void>((resolve) => { probe.close(() => { resolve() }) })
      return ok
    },
    cleanup: async () => { await p.kill() },
  }
})
