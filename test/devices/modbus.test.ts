import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { BindingErrorEvent, BindingEvent } from '../../core/bindings/types.ts'
import { BindingRegistry } from '../../core/bindings/registry.ts'
import { isMechaError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { builtinBindings } from '../../devices/index.ts'
import { modbusFactory } from '../../devices/modbus/index.ts'
import type { ModbusBinding } from '../../devices/modbus/binding.ts'
import { decodePoint, encodePoint } from '../../devices/modbus/codec.ts'
import { planBlocks } from '../../devices/modbus/plan.ts'
import { parseProfile, type Point } from '../../devices/modbus/profile.ts'
import { parseModbusMetadata } from '../../devices/modbus/validate.ts'
import { bindingContract } from '../contracts/binding.contract.ts'
import { spawnTracked } from '../helpers/children.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { findPython, ModbusServer, type RegisterMap } from './fixtures/modbus-server.ts'
import { ptyPair, type PtyPair } from './socat.ts'

const log = createLogger({ level: 'silent' })

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

const point = (p: Record<string, unknown>): Point => {
  const { profile, problems } = parseProfile({ points: [{ name: 'p', function: 'holding', address: 0, ...p }] }, 'profile')
  assert.equal(problems, [])
  return profile.points[0]!
}

// --- profile, metadata, codec, plan (no device)

test('modbus - an invalid profile is refused with the path of each problem', () => {
  const profile = JSON.stringify({
    points: [
      { name: 'a', function: 'holding', address: 0, type: 'float32' },
      { name: 'b', function: 'holding', address: 1, type: 'uint16' }, // overlaps a
      { name: 'c', function: 'input', address: 10, type: 'complex' },
      { name: 'd', function: 'input', address: 20, type: 'int32', count: 1 },
      { name: 'e', function: 'register', address: 30 },
      { name: 'f', function: 'coil', address: 0, type: 'float32' },
      { name: 'a', function: 'coil', address: 5 },
      { name: 'g', function: 'holding', address: 40, type: 'string' },
      { name: 'h', function: 'holding', address: 50, order: 'ACBD', colour: 'red' },
    ],
  })
  const registry = new BindingRegistry(builtinBindings)
  const problems = registry.validate({ name: 'plc', type: 'bindings.modbus', metadata: { host: '127.0.0.1', profile } })
  const paths = problems.map((p) => p.path)
  assert.equal(paths.sort(), [
    'spec.metadata.profile.points[1].address',
    'spec.metadata.profile.points[2].type',
    'spec.metadata.profile.points[3].count',
    'spec.metadata.profile.points[4].function',
    'spec.metadata.profile.points[5].type',
    'spec.metadata.profile.points[6].name',
    'spec.metadata.profile.points[7].count',
    'spec.metadata.profile.points[8].colour',
    'spec.metadata.profile.points[8].order',
  ].sort())
  assert.match(problems.find((p) => p.path.endsWith('[3].count'))!.message, 'must be 2 for type int32')
  assert.match(problems.find((p) => p.path.endsWith('[1].address'))!.message, 'overlaps point "a"')
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('modbus-serial') || k.includes('serialport'))
  assert.equal(loaded, [], 'validating loads neither modbus-serial nor the serialport addon')
})

test('modbus - metadata: link, timing and profile source problems; a YAML profile file', async () => {
  const bad = parseModbusMetadata({ path: '/dev/ttyUSB0', host: 'plc', baudRate: '12345', timeoutMs: '0', retries: 'x', interFrameGapMs: '-1', colour: 'red' }).problems.map((p) => p.path).sort()
  assert.equal(bad, ['spec.metadata.baudRate', 'spec.metadata.colour', 'spec.metadata.host', 'spec.metadata.interFrameGapMs', 'spec.metadata.profile', 'spec.metadata.retries', 'spec.metadata.timeoutMs'].sort())
  assert.equal(parseModbusMetadata({ profile: '{points: [{name: x, function: coil, address: 1}]}' }).problems.map((p) => p.path), ['spec.metadata.path'])
  assert.equal(parseModbusMetadata({ path: '/dev/x', profile: 'points: [' }).problems.map((p) => p.path), ['spec.metadata.profile'])
  assert.equal(parseModbusMetadata({ path: '/dev/x', profileFile: '/nonexistent/profile.yaml' }).problems.map((p) => p.path), ['spec.metadata.profileFile'])
  const dir = await tmpDir('modbus-profile')
  const file = join(dir, 'meter.yaml')
  await writeFile(file, 'unitId: 3\ninterval: 2s\norder: CDAB\npoints:\n  - { name: energy, function: input, address: 0, type: float32, unit: kWh }\n  - { name: relay, function: coil, address: 4 }\n  - { name: bad, function: input, address: 9, type: int32, count: 3 }\n')
  const r = parseModbusMetadata({ path: 'usb-FTDI-if00', baudRate: '19200', parity: 'even', profileFile: file })
  assert.equal(r.problems.map((p) => p.path), ['spec.metadata.profileFile.points[2].count'])
  await writeFile(file, 'unitId: 3\ninterval: 2s\norder: CDAB\npoints:\n  - { name: energy, function: input, address: 0, type: float32, unit: kWh }\n  - { name: relay, function: coil, address: 4 }\n')
  const ok = parseModbusMetadata({ path: 'usb-FTDI-if00', baudRate: '19200', parity: 'even', profileFile: file })
  assert.equal(ok.problems, [])
  assert.equal(ok.options.link, { kind: 'rtu', path: '/dev/serial/by-id/usb-FTDI-if00', baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 })
  assert.is(ok.options.interFrameGapMs, 3, '3.5 characters at 19200 baud')
  assert.equal(ok.options.profile.points.map((p) => [p.name, p.unitId, p.intervalMs, p.order, p.type, p.count, p.unit]), [['energy', 3, 2000, 'CDAB', 'float32', 2, 'kWh'], ['relay', 3, 2000, 'CDAB', 'bool', 1, undefined]])
  assert.equal(parseModbusMetadata({ host: '10.0.0.5', profileFile: file }).options.link, { kind: 'tcp', host: '10.0.0.5', port: 502 })
})

test('modbus - codec: every type in every byte/word order, scale/offset, both ways', () => {
  // 1.5 as float32 is 0x3FC00000: A=3F B=C0 C=00 D=00.
  const f = (order: string) => point({ type: 'float32', order })
  assert.equal(encodePoint(f('ABCD'), 1.5), [0x3fc0, 0x0000])
  assert.equal(encodePoint(f('CDAB'), 1.5), [0x0000, 0x3fc0])
  assert.equal(encodePoint(f('BADC'), 1.5), [0xc03f, 0x0000])
  assert.equal(encodePoint(f('DCBA'), 1.5), [0x0000, 0xc03f])
  // 0x11223344 as int32
  assert.equal(encodePoint(point({ type: 'uint32', order: 'CDAB' }), 0x11223344), [0x3344, 0x1122])
  assert.equal(decodePoint(point({ type: 'int32', order: 'DCBA' }), [0x4433, 0x2211]), 0x11223344)
  // float64 1.5 = 0x3FF8000000000000
  assert.equal(encodePoint(point({ type: 'float64' }), 1.5), [0x3ff8, 0, 0, 0])
  assert.equal(encodePoint(point({ type: 'float64', order: 'DCBA' }), 1.5), [0, 0, 0, 0xf83f])
  assert.is(decodePoint(point({ type: 'int16' }), [0xfffe]), -2)
  assert.is(decodePoint(point({ type: 'uint16', scale: 0.1, offset: -40 }), [615]), 21.5)
  assert.equal(encodePoint(point({ type: 'uint16', scale: 0.1, offset: -40 }), 21.5), [615])
  assert.is(decodePoint(point({ type: 'string', count: 3 }), [0x4142, 0x4344, 0x4500]), 'ABCDE')
  assert.is(decodePoint(point({ type: 'string', count: 2, order: 'BADC' }), [0x4241, 0x0043]), 'ABC')
  assert.is(decodePoint(point({ type: 'bool' }), [7]), true)
  assert.equal(decodePoint(point({ function: 'coil', count: 3 }), [true, false, true, false]), [true, false, true])
  for (const type of ['int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const) {
    for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
      const p = point({ type, order, scale: 0.5, offset: 3 })
      const v = type.startsWith('u') ? 1003 : -997.5
      assert.is(decodePoint(p, encodePoint(p, v)), v, `${type} ${order}`)
    }
  }
  assert.throws(() => encodePoint(point({ type: 'uint16' }), 70000), /outside uint16/)
  assert.throws(() => encodePoint(point({ type: 'string', count: 1 }), 'abc'), /at most 2/)
  assert.throws(() => encodePoint(point({ function: 'coil' }), 'on'), /true\/false/)
})

test('modbus - plan: neighbours merged within maxGap and the per-request limit', () => {
  const { profile } = parseProfile({
    maxGap: 2, maxGapBits: 20, maxRegistersPerRequest: 10,
    points: [
      { name: 'a', function: 'holding', address: 0 }, { name: 'b', function: 'holding', address: 3, type: 'float32' },
      { name: 'c', function: 'holding', address: 8 }, { name: 'd', function: 'holding', address: 9, type: 'float32' },
      { name: 'e', function: 'input', address: 1 }, { name: 'f', function: 'holding', address: 2, unitId: 2 },
      { name: 'g', function: 'coil', address: 0 }, { name: 'h', function: 'coil', address: 60 }, { name: 'i', function: 'coil', address: 70 },
    ],
  }, 'profile')
  const blocks = planBlocks(profile.points, profile).map((b) => `${b.unitId}/${b.function}@${b.address}+${b.count}:${b.points.map((p) => p.name).join('')}`)
  assert.equal(blocks, ['1/coil@0+1:g', '1/coil@60+11:hi', '1/holding@0+5:ab', '1/holding@8+3:cd', '1/input@1+1:e', '2/holding@2+1:f'])
})

// --- against a real Modbus server (pymodbus)

const py = findPython()
if ('skip' in py) {
  console.log(`  skipped: the Modbus server tests: ${py.skip}`)
  test.run()
} else {
  runServerTests(py.python)
}

function runServerTests (python: string): void {
  let server: ModbusServer | undefined
  let binding: ModbusBinding | undefined
  let pair: PtyPair | undefined
  let dir: string

  test.before(async () => { dir = await tmpDir('modbus') })
  test.after.each(async () => {
    await binding?.close(); binding = undefined
    await server?.kill(); server = undefined
    await pair?.kill(); pair = undefined
  })
  test.after(cleanupTmp)

  async function open (meta: Record<string, string>, profile: unknown): Promise<{ b: ModbusBinding; events: BindingEvent[]; errors: BindingErrorEvent[] }> {
    const b = await modbusFactory.create({ name: 'plc', type: 'bindings.modbus', metadata: { timeoutMs: '300', retries: '0', reconnectMinMs: '50', reconnectMaxMs: '300', ...meta, profile: JSON.stringify(profile) } }, { log }) as ModbusBinding
    binding = b
    const events: BindingEvent[] = []; const errors: BindingErrorEvent[] = []
    b.onEvent = (e) => events.push(e)
    b.onError = (e) => errors.push(e)
    await b.open()
    return { b, events, errors }
  }
  const tcp = async (map: RegisterMap, port = 0): Promise<ModbusServer> => { server = await ModbusServer.start(python, 'tcp', port, map, { spawn: spawnTracked }); return server }

  // Register words written independently of the codec: Buffer big-endian, then swapped by hand.
  const be = (write: (b: Buffer) => void, bytes: number): number[] => {
    const b = Buffer.alloc(bytes); write(b)
    return Array.from({ length: bytes / 2 }, (_, i) => b.readUInt16BE(i * 2))
  }
  const swapBytes = (ws: number[]): number[] => ws.map((w) => ((w & 0xff) << 8) | (w >> 8))
  const ordered = (ws: number[], order: string): number[] => {
    const w = order === 'CDAB' || order === 'DCBA' ? [...ws].reverse() : ws
    return order === 'BADC' || order === 'DCBA' ? swapBytes(w) : w
  }

  test('modbus tcp - every data type and byte/word order reads correctly, in merged requests', async () => {
    const samples = {
      int16: { v: -12345, words: be((b) => b.writeInt16BE(-12345), 2) },
      uint16: { v: 54321, words: be((b) => b.writeUInt16BE(54321), 2) },
      int32: { v: -123456789, words: be((b) => b.writeInt32BE(-123456789), 4) },
      uint32: { v: 3_000_000_001, words: be((b) => b.writeUInt32BE(3_000_000_001), 4) },
      float32: { v: Math.fround(-273.15), words: be((b) => b.writeFloatBE(-273.15), 4) },
      float64: { v: 6.02214076e23, words: be((b) => b.writeDoubleBE(6.02214076e23), 8) },
    }
    const hr: Record<string, number[]> = {}
    const points: unknown[] = []
    let addr = 0
    for (const [type, s] of Object.entries(samples)) {
      for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA']) {
        if (s.words.length === 1 && (order === 'CDAB' || order === 'DCBA')) continue
        hr[String(addr)] = ordered(s.words, order)
        points.push({ name: `${type}_${order}`, function: 'holding', address: addr, type, order })
        addr += s.words.length
      }
    }
    hr[String(addr)] = [0x4d65, 0x6368, 0x6100] // "Mecha"
    points.push({ name: 'model', function: 'holding', address: addr, type: 'string', count: 3 })
    hr['100'] = [215]; points.push({ name: 'temp', function: 'holding', address: 100, type: 'int16', scale: 0.1, offset: -1, unit: '°C' })
    points.push({ name: 'flag', function: 'input', address: 7, type: 'bool' })
    points.push({ name: 'relay', function: 'coil', address: 3 }, { name: 'door', function: 'discrete', address: 1 }, { name: 'leds', function: 'coil', address: 10, count: 4 })
    const s = await tcp({ units: { 1: { hr, ir: { 7: [1] }, co: { 3: [1], 10: [1, 0, 1, 1] }, di: { 1: [1] } } } })
    const { b, events } = await open({ host: '127.0.0.1', port: String(s.port) }, { interval: '100ms', points })
    await until('first event', () => events.length >= 1)
    const v = events[0]!.value as Record<string, unknown>
    for (const [type, smp] of Object.entries(samples)) {
      for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA']) {
        if (smp.words.length === 1 && (order === 'CDAB' || order === 'DCBA')) continue
        assert.is(v[`${type}_${order}`], smp.v, `${type} ${order}`)
      }
    }
    assert.is(v.model, 'Mecha'); assert.is(v.temp, 20.5); assert.is(v.flag, true)
    assert.is(v.relay, true); assert.is(v.door, true); assert.equal(v.leds, [true, false, true, true])
    assert.equal((events[0]!.fields as { units: Record<string, string> }).units, { temp: '°C' })
    assert.equal(JSON.parse(events[0]!.raw!).temp, [215])
    // 40 holding registers in 2 requests (0–42 and 100), not one per point.
    const requests = b.plan()[0]!.requests.map((r) => `${r.function}@${r.address}+${r.count}`)
    assert.equal(requests, ['coil@3+11', 'discrete@1+1', `holding@0+${addr + 3}`, 'holding@100+1', 'input@7+1'])
    assert.is(b.status.current.type, 'open')
    assert.match(b.status.current.type === 'open' ? b.status.current.detail ?? '' : '', 'unit 1 ok')
  })

  test('modbus tcp - a changed register is one event with only that point; deadband and report: always', async () => {
    const s = await tcp({ units: { 1: { hr: { 0: [100, 200, 300] } } } })
    const { events } = await open({ host: '127.0.0.1', port: String(s.port) }, {
      interval: '50ms',
      points: [{ name: 'a', function: 'holding', address: 0 }, { name: 'b', function: 'holding', address: 1, deadband: 5 }, { name: 'c', function: 'holding', address: 2 }],
    })
    await until('first event', () => events.length === 1)
    assert.equal(events[0]!.value, { a: 100, b: 200, c: 300 })
    await sleep(200)
    assert.is(events.length, 1, 'no change, no event')
    await s.set(1, 'hr', 0, [101])
    await until('change event', () => events.length === 2)
    await sleep(200)
    assert.is(events.length, 2, 'exactly one event for one change')
    assert.equal(events[1]!.value, { a: 101 })
    await s.set(1, 'hr', 1, [204]) // within the deadband of 5
    await sleep(250)
    assert.is(events.length, 2)
    await s.set(1, 'hr', 1, [205])
    await until('deadband crossed', () => events.length === 3)
    assert.equal(events[2]!.value, { b: 205 })
    await binding!.close()
    const again = await open({ host: '127.0.0.1', port: String(s.port) }, { interval: '50ms', report: 'always', points: [{ name: 'a', function: 'holding', address: 0 }] })
    await until('three polls', () => again.events.length >= 3)
    assert.equal(again.events.map((e) => e.value).slice(0, 3), [{ a: 101 }, { a: 101 }, { a: 101 }])
  })

  test('modbus tcp - write lands in the server registers (scale, word order, coils); read on demand; bad writes change nothing', async () => {
    const s = await tcp({ units: { 1: {} } })
    const { b } = await open({ host: '127.0.0.1', port: String(s.port) }, {
      interval: '1s',
      points: [
        { name: 'setpoint', function: 'holding', address: 10, type: 'float32', order: 'CDAB' },
        { name: 'speed', function: 'holding', address: 20, type: 'uint16', scale: 0.1 },
        { name: 'label', function: 'holding', address: 30, type: 'string', count: 4 },
        { name: 'pump', function: 'coil', address: 5 },
        { name: 'valves', function: 'coil', address: 8, count: 3 },
        { name: 'flow', function: 'input', address: 0 },
      ],
    })
    await until('open', () => b.status.current.type === 'open')
    const r = await b.invoke('write', { point: 'setpoint', value: 21.5 }, {})
    assert.equal(r.data, { written: ['setpoint'] })
    assert.equal(await s.get(1, 'hr', 10, 2), ordered(be((x) => x.writeFloatBE(21.5), 4), 'CDAB'))
    await b.invoke('write', { points: { speed: 123.4, label: 'pump1', pump: true, valves: [true, false, true] } }, {})
    assert.equal(await s.get(1, 'hr', 20, 1), [1234])
    assert.equal(await s.get(1, 'hr', 30, 4), [0x7075, 0x6d70, 0x3100, 0])
    assert.equal(await s.get(1, 'co', 5, 1), [1])
    assert.equal(await s.get(1, 'co', 8, 3), [1, 0, 1])
    const read = await b.invoke('read', { points: ['setpoint', 'speed', 'label', 'pump', 'valves'] }, {})
    assert.equal(read.data, { values: { setpoint: 21.5, speed: 123.4, label: 'pump1', pump: true, valves: [true, false, true] }, errors: {} })
    for (const [data, text] of [
      [{ point: 'flow', value: 1 }, 'only coils and holding registers'],
      [{ point: 'nope', value: 1 }, 'no point "nope"'],
      [{ points: { speed: 1, setpoint: 'hot' } }, 'takes a number'],
      [{ point: 'speed', value: 7000 }, 'outside uint16'],
      ['x', 'write takes'],
    ] as const) {
      try { await b.invoke('write', data, {}); assert.unreachable(JSON.stringify(data)) } catch (err) {
        assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_DATA'), String(err))
        assert.match((err as Error).message, text)
      }
    }
    assert.equal(await s.get(1, 'hr', 20, 1), [1234], 'a refused write wrote nothing, not even its valid part')
  })

  test('modbus tcp - an exception answer is reported per point, once, and the merged request is split', async () => {
    const s = await tcp({ size: 100, units: { 1: { hr: { 95: [7] } } } })
    const { b, events, errors } = await open({ host: '127.0.0.1', port: String(s.port) }, {
      interval: '50ms', maxGap: 10,
      points: [{ name: 'ok', function: 'holding', address: 95 }, { name: 'beyond', function: 'holding', address: 102 }],
    })
    await until('the good point', () => events.length >= 1)
    assert.equal(events[0]!.value, { ok: 7 })
    await sleep(400)
    const exc = errors.filter((e) => e.code === 'MECHA_ERR_MODBUS_EXCEPTION')
    assert.is(exc.length, 1, 'reported once, not on every poll')
    assert.match(exc[0]!.message, 'beyond'); assert.match(exc[0]!.message, 'exception 2 (illegal data address)')
    assert.equal(b.plan()[0]!.requests.map((r) => r.points.join()), ['ok', 'beyond'], 'split into one request per point')
    assert.equal(b.units()[0]!.state, 'ok', 'an exception is an answer: the unit is reachable')
    try { await b.invoke('read', { points: ['beyond'] }, {}); assert.unreachable() } catch (err) {
      assert.ok(isMechaError(err, 'MECHA_ERR_MODBUS_EXCEPTION'), String(err))
    }
    const partial = await b.invoke('read', {}, {})
    assert.equal((partial.data as { values: unknown }).values, { ok: 7 })
    assert.equal(Object.keys((partial.data as { errors: object }).errors), ['beyond'])
  })

  test('modbus tcp - the server stopped for seconds and started again: polling resumes by itself', async () => {
    const map: RegisterMap = { units: { 1: { hr: { 0: [1] } } } }
    const s = await tcp(map)
    const port = s.port
    const { b, events } = await open({ host: '127.0.0.1', port: String(port) }, { interval: '50ms', points: [{ name: 'x', function: 'holding', address: 0 }] })
    await until('first event', () => events.length === 1)
    const seen: string[] = []
    b.status.on((st) => seen.push(st.type))
    await s.kill(); server = undefined
    await until('disconnected', () => b.status.current.type === 'disconnected')
    try { await b.invoke('read', {}, {}); assert.unreachable() } catch (err) { assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_UNAVAILABLE'), String(err)) }
    await sleep(2000)
    const st = b.status.current
    assert.is(st.type, 'disconnected')
    assert.ok(st.type === 'disconnected' && typeof st.retryInMs === 'number' && st.retryInMs <= 300, 'retrying with the short test backoff')
    map.units['1']!.hr = { 0: [2] }
    server = await ModbusServer.start(python, 'tcp', port, map, { spawn: spawnTracked })
    await until('polling resumed', () => events.length >= 2)
    assert.equal(events.at(-1)!.value, { x: 2 })
    assert.is(b.status.current.type, 'open')
    assert.ok(b.counters().reconnects >= 1)
    assert.ok(seen.filter((x) => x === 'disconnected').length >= 2, 'several failed reconnects while it was down')
  })

  // --- RTU over a socat pty pair: the binding opens A, the pymodbus RTU server B.

  const rtuMap: RegisterMap = { units: { 1: { hr: { 0: [11] } }, 2: { hr: { 0: [22] } } } }
  const rtuProfile = { interval: '100ms', points: [{ name: 'one', unitId: 1, function: 'holding', address: 0 }, { name: 'two', unitId: 2, function: 'holding', address: 0 }] }
  async function rtu (): Promise<ModbusServer> {
    pair = await ptyPair(join(dir, 'A'), join(dir, 'B'))
    server = await ModbusServer.start(python, 'rtu', pair.b, rtuMap, { baud: 38400, spawn: spawnTracked })
    return server
  }

  test('modbus rtu - two units on one bus, one stops answering: it is unreachable, the other is still read', async () => {
    const s = await rtu()
    const { b, events, errors } = await open({ path: pair!.a, baudRate: '38400', timeoutMs: '400', retries: '1' }, rtuProfile)
    await until('both units', () => events.length >= 1)
    assert.equal(events[0]!.value, { one: 11, two: 22 })
    await s.drop(2)
    await until('unit 2 unreachable', () => b.units().find((u) => u.unitId === 2)!.state === 'unreachable')
    const unreachable = errors.filter((e) => e.code === 'MECHA_ERR_MODBUS_UNREACHABLE' && e.message.includes('unit 2'))
    assert.is(unreachable.length, 1, 'reported once, not on every probe')
    assert.match(b.status.current.type === 'open' ? b.status.current.detail ?? '' : '', 'unit 2 unreachable')
    const n = events.length
    for (let i = 1; i <= 3; i++) {
      await s.set(1, 'hr', 0, [11 + i])
      await until(`unit 1 change ${i}`, () => events.some((e) => (e.value as { one?: number }).one === 11 + i), 3000)
    }
    assert.ok(events.length >= n + 3)
    assert.ok(events.slice(n).every((e) => !('two' in (e.value as object))))
    assert.is(b.units().find((u) => u.unitId === 1)!.state, 'ok')
    assert.is(b.status.current.type, 'open', 'one unit down never takes the link down')
    await s.restore(2)
    await until('unit 2 back', () => b.units().find((u) => u.unitId === 2)!.state === 'ok')
    await until('unit 2 reported again', () => events.some((e, i) => i >= n && (e.value as { two?: number }).two === 22))
    const u2 = b.units().find((u) => u.unitId === 2)!
    assert.is(u2.unreachable, 1); assert.ok(u2.timeouts >= 1)
  })

  test('modbus rtu - the adapter unplugged and plugged back (pty pair killed, recreated): polling resumes', async () => {
    const s = await rtu()
    const { b, events } = await open({ path: pair!.a, baudRate: '38400', timeoutMs: '400', retries: '1' }, rtuProfile)
    await until('first event', () => events.length >= 1)
    await s.kill(); server = undefined
    await pair!.kill(); pair = undefined
    await until('disconnected', () => b.status.current.type === 'disconnected')
    await sleep(300)
    await rm(join(dir, 'A'), { force: true }); await rm(join(dir, 'B'), { force: true })
    rtuMap.units['1']!.hr = { 0: [99] }
    await rtu()
    await until('polling resumed', () => events.some((e) => (e.value as { one?: number }).one === 99))
    assert.is(b.status.current.type, 'open')
    assert.ok(b.counters().reconnects >= 1)
    rtuMap.units['1']!.hr = { 0: [11] }
  })

  test.run()

  bindingContract('modbus (pymodbus tcp)', async () => {
    const s = await ModbusServer.start(python, 'tcp', 0, { units: { 1: { hr: { 0: [1] } } } }, { spawn: spawnTracked })
    const b = await modbusFactory.create({ name: 'c', type: 'bindings.modbus', metadata: { host: '127.0.0.1', port: String(s.port), profile: '{points: [{name: x, function: holding, address: 0}]}' } }, { log })
    return { binding: b, cleanup: async () => { await s.kill() } }
  })
}
