import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { access, open as openFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import type { Binding, BindingEvent } from '../../core/bindings/types.ts'
import { isMechaError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { gpioFactory, gpiodArgs, parseGpiodVersion, parseMonLine, parseGpioMetadata } from '../../devices/gpio/index.ts'
import { bindingContract } from '../contracts/binding.contract.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { FakeSysfs } from './fake-sysfs.ts'

const log = createLogger({ level: 'silent' })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const exists = async (p: string) => await access(p).then(() => true, () => false)

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

let kernel: FakeSysfs
let binding: Binding | undefined
test.before(async () => { kernel = await FakeSysfs.create(join(await tmpDir('gpio'), 'class-gpio')) })
test.after.each(async () => { await binding?.close(); binding = undefined })
test.after(async () => { await kernel.stop(); await cleanupTmp() })

async function open (meta: Record<string, string>): Promise<{ b: Binding; events: BindingEvent[] }> {
  const b = await gpioFactory.create({ name: 'button', type: 'bindings.gpio', metadata: { sysfsRoot: kernel.root, pollIntervalMs: '2', ...meta } }, { log })
  binding = b
  const events: BindingEvent[] = []
  b.onEvent = (e) => events.push(e)
  await b.open()
  await until('open', () => b.status.current.type === 'open')
  return { b, events }
}

test('gpio - metadata problems are listed with their paths', () => {
  const p = (m: Record<string, string>) => parseGpioMetadata(m).problems.map((x) => x.path)
  assert.equal(p({}), ['spec.metadata.line'])
  assert.equal(p({ chip: 'gpiochip0', line: '3', sysfs: '17' }), ['spec.metadata.sysfs'])
  assert.equal(p({ sysfs: '17', bias: 'pull-up' }), ['spec.metadata.bias'], 'sysfs cannot set a bias')
  assert.equal(p({ chip: '0', line: '4', direction: 'out', edge: 'rising', initial: '2' }), ['spec.metadata.edge', 'spec.metadata.initial'])
  assert.equal(p({ chip: 'gpiochip0', line: '4', bias: 'pull-down', debounceMs: '20', edge: 'falling' }), [])
  assert.is(parseGpioMetadata({ sysfs: '17' }).options.backend, 'sysfs')
  assert.is(parseGpioMetadata({ chip: 'gpiochip1', line: '2' }).options.backend, 'libgpiod')
})

test('gpio - libgpiod v1 and v2 argument syntax, version detection, gpiomon lines', () => {
  const l = { chip: 'gpiochip0', offset: 17, activeLow: true, bias: 'pull-up' as const }
  assert.equal(gpiodArgs(1, 'get', l), { cmd: 'gpioget', args: ['-l', '--bias=pull-up', 'gpiochip0', '17'] })
  assert.equal(gpiodArgs(2, 'get', l), { cmd: 'gpioget', args: ['-c', 'gpiochip0', '-l', '--bias=pull-up', '--numeric', '17'] })
  assert.equal(gpiodArgs(1, 'set', { ...l, activeLow: false, bias: 'as-is' }, 1), { cmd: 'gpioset', args: ['--mode=signal', 'gpiochip0', '17=1'] })
  assert.equal(gpiodArgs(2, 'set', { ...l, activeLow: false, bias: 'as-is' }, 0), { cmd: 'gpioset', args: ['-c', 'gpiochip0', '17=0'] })
  assert.equal(gpiodArgs(1, 'mon', l).args, ['-l', '--bias=pull-up', '--line-buffered', '--format=%e %o', 'gpiochip0', '17'])
  assert.equal(gpiodArgs(2, 'mon', l).args, ['-c', 'gpiochip0', '-l', '--bias=pull-up', '--edges=both', '--format=%e %o', '17'])
  assert.is(parseGpiodVersion('gpioget (libgpiod) v1.6.3\nCopyright (C) 2017-2018 Bartosz Golaszewski'), 1)
  assert.is(parseGpiodVersion('gpioget (libgpiod) v2.1.2\nCopyright (C) 2017-2023 Bartosz Golaszewski'), 2)
  assert.is(parseGpiodVersion('something else'), undefined)
  assert.is(parseMonLine('1 17'), 1); assert.is(parseMonLine('0 17'), 0); assert.is(parseMonLine('Monitoring line 17 ...'), undefined)
})

test('gpio - sysfs input: export, direction in, debounced edges; release on close', async () => {
  const { b, events } = await open({ sysfs: '17', edge: 'both', debounceMs: '40' })
  assert.ok(await kernel.exported(17))
  assert.is(await kernel.file(17, 'direction'), 'in')
  // Contact bounce: flicker for ~20 ms, then hold high. One rising edge, reported once the level held.
  for (const v of [1, 0, 1, 0, 1] as const) { await kernel.set(17, v); await sleep(4) }
  await until('rising', () => events.length === 1)
  await sleep(80)
  assert.is(events.length, 1, 'a bounce is one edge')
  assert.equal(events[0]!.value, true)
  assert.equal(events[0]!.fields, { edge: 'rising', level: 1, line: 'gpio17' })
  // A glitch shorter than the debounce time is no edge at all.
  await kernel.set(17, 0); await sleep(10); await kernel.set(17, 1); await sleep(80)
  assert.is(events.length, 1, 'a short glitch is filtered')
  await kernel.set(17, 0)
  await until('falling', () => events.length === 2)
  assert.equal(events[1]!.fields?.edge, 'falling')
  assert.equal(await b.invoke('read', undefined, {}), { data: { value: false, level: 0 } })
  try { await b.invoke('write', 1, {}); assert.unreachable() } catch (err) { assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_OPERATION')) }
  await b.close()
  await until('unexported', async () => !(await kernel.exported(17)))
  assert.ok(kernel.unexports.includes(17))
})

test('gpio - sysfs edge: rising reports only rising edges', async () => {
  const { events } = await open({ sysfs: '18', edge: 'rising' })
  await kernel.set(18, 1); await until('rising', () => events.length === 1)
  await kernel.set(18, 0); await sleep(40)
  await kernel.set(18, 1); await until('second rising', () => events.length === 2)
  assert.equal(events.map((e) => e.fields?.edge), ['rising', 'rising'])
})

test('gpio - sysfs output: initial level, write, read, toggle, bad data', async () => {
  const { b } = await open({ sysfs: '22', direction: 'out', initial: '1' })
  await until('the kernel applied the direction', async () => await kernel.file(22, 'direction') === 'out')
  assert.is(await kernel.value(22), '1')
  assert.equal((await b.invoke('read', undefined, {})).data, { value: true, level: 1 })
  await b.invoke('write', 'low', {})
  assert.is(await kernel.value(22), '0')
  assert.equal((await b.invoke('toggle', undefined, {})).data, { value: true, level: 1 })
  assert.is(await kernel.value(22), '1')
  await b.invoke('write', { value: false }, {})
  assert.is(await kernel.value(22), '0')
  try { await b.invoke('write', 'maybe', {}); assert.unreachable() } catch (err) { assert.ok(isMechaError(err, 'MECHA_ERR_BINDING_DATA')) }
  assert.is(b.counters().invokes, 5)
})

test('gpio - sysfs active-low output: the initial level goes out raw (inverted) through direction', async () => {
  await open({ sysfs: '23', direction: 'out', initial: '1', activeLow: 'true' })
  assert.is(await kernel.file(23, 'active_low'), '1')
  await until('the kernel applied the direction', async () => await kernel.file(23, 'direction') === 'out')
  assert.ok(kernel.directionWrites.includes('gpio23:low'), 'direction high/low is a raw level: logical 1 is raw low')
  assert.is(await kernel.value(23), '1', 'value is logical (active_low applied), as the kernel shows it')
})

test('gpio - libgpiod tools on a real chip', async () => {
  const chips = (await readdir('/dev').catch(() => [] as string[])).filter((n) => n.startsWith('gpiochip'))
  if (chips.length === 0) { console.log('  skipped: no /dev/gpiochip* on this machine (the libgpiod backend needs a real or gpio-sim chip)'); return }
  const b = await gpioFactory.create({ name: 'chip', type: 'bindings.gpio', metadata: { chip: chips[0]!, line: '0', edge: 'none' } }, { log })
  binding = b
  await b.open()
  await until('open or disconnected', () => b.status.current.type !== 'opening')
  if (b.status.current.type === 'open') {
    const r = await b.invoke('read', undefined, {})
    assert.ok([0, 1].includes((r.data as { level: number }).level))
  } else console.log(`  ${chips[0]} line 0 is not usable here: ${JSON.stringify(b.status.current)}`)
})

test.run()

bindingContract('gpio (sysfs)', async () => {
  const n = 40
  const k = await FakeSysfs.create(join(await tmpDir('gpio-contract'), 'class-gpio'))
  const b = await gpioFactory.create({ name: 'c', type: 'bindings.gpio', metadata: { sysfs: String(n), sysfsRoot: k.root, direction: 'out' } }, { log })
  return { binding: b, released: async () => !(await k.exported(n)), cleanup: async () => { await k.stop(); await cleanupTmp() } }
})
