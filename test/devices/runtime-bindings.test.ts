/**
 * Device bindings through the whole runtime: serial (a socat pty pair), GPIO (a sysfs-shaped tree the test plays
 * the kernel for) and cron components are hot-reloaded in and out of a running runtime while MQTT clients stay
 * connected; events reach MQTT and the app, output works through the Dapr API and the MQTT command topic.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { spawnRuntime, testConfig, ROOT } from '../helpers/runtime.ts'
import { closeAll } from '../helpers/mqtt.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { FakeSysfs } from './fake-sysfs.ts'
import { DeviceEnd, ptyPair } from './socat.ts'

test.after(cleanupTmp)
const run = promisify(execFile)

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const component = (name: string, type: string, metadata: Record<string, string>): Record<string, unknown> => ({
  apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name }, spec: { type, version: 'v1', metadata: Object.entries(metadata).map(([k, value]) => ({ name: k, value })) },
})

test('devices - serial, GPIO and cron bindings hot-reloaded in and out while MQTT clients stay connected', async () => {
  const dir = await tmpDir('rt-bindings')
  const pty = await ptyPair(join(dir, 'ttyA'), join(dir, 'ttyB'))
  const kernel = await FakeSysfs.create(join(dir, 'class-gpio'))
  const appCalls: Array<{ path: string; body: string }> = []
  const app = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => {
      if (req.url === '/dapr/subscribe') { res.writeHead(200, { 'content-type': 'application/json' }).end('[]'); return }
      appCalls.push({ path: req.url ?? '', body })
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => { app.listen(0, '127.0.0.1', resolve) })
  const file = join(dir, 'mecha.json')
  const base = await testConfig({ apps: [{ id: 'sensor-app', appPort: (app.address() as AddressInfo).port }] })
  await writeFile(file, JSON.stringify(base))
  const rt = await spawnRuntime({ args: ['--config', file] })
  const events: Array<{ topic: string; body: any }> = []
  let disconnects = 0
  const sub = mqtt.connect(`mqtt://127.0.0.1:${rt.addresses.mqtt.port}`, { clientId: 'devices-watcher', clean: false, reconnectPeriod: 0 })
  sub.on('message', (topic, p) => { events.push({ topic, body: JSON.parse(p.toString()) }) })
  sub.on('close', () => { disconnects++ })
  let device: DeviceEnd | undefined
  try {
    await new Promise<void>((resolve) => { sub.once('connect', () => { resolve() }) })
    await sub.subscribeAsync('devices/#', { qos: 1 })
    const api = `http://127.0.0.1:${rt.addresses.api.port}`

    // In: three bindings by a config change.
    const withDevices = {
      ...base,
      components: [
        component('temp', 'bindings.serial', { path: pty.a, baudRate: '115200', parse: 'number' }),
        component('button', 'bindings.gpio', { sysfs: '17', sysfsRoot: kernel.root, direction: 'in', edge: 'both' }),
        component('tick', 'bindings.cron', { schedule: '@every 1s' }),
      ],
    }
    await writeFile(file, JSON.stringify(withDevices))
    await until('the reload', () => rt.output().includes('"binding temp added"'))
    await until('the GPIO line exported', async () => await kernel.exported(17))
    device = await DeviceEnd.open(pty.b)

    const meta = await (await fetch(`${api}/v1.0/metadata`)).json() as any
    const types = Object.fromEntries(meta.components.map((c: any) => [c.name, c]))
    assert.is(types.temp.type, 'bindings.serial')
    assert.ok(types.temp.capabilities.includes('OUTPUT_BINDING') && types.temp.capabilities.includes('INPUT_BINDING'), JSON.stringify(types.temp))

    await until('the serial port open', async () => ((await (await fetch(`${api}/v1.0/metadata`)).json() as any).extended['binding.temp'] ?? '').startsWith('open'))
    await device.write('21.5\n')
    await until('a serial event on MQTT', () => events.some((e) => e.topic === 'devices/temp/events'))
    const ev = events.find((e) => e.topic === 'devices/temp/events')!.body
    assert.is(ev.binding, 'temp'); assert.is(ev.value, 21.5); assert.is(ev.raw, '21.5'); assert.ok(!Number.isNaN(Date.parse(ev.ts)))
    await until('the input binding delivered to the app', () => appCalls.some((c) => c.path === '/temp'))

    await kernel.set(17, 1)
    await until('a GPIO event', () => events.some((e) => e.topic === 'devices/button/events'))
    await until('a cron event', () => events.some((e) => e.topic === 'devices/tick/events'), 5000)

    // Out: the Dapr bindings API and the MQTT command topic.
    const out = await fetch(`${api}/v1.0/bindings/temp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operation: 'write', data: 'hello' }) })
    assert.ok(out.status === 200 || out.status === 204, `write answered ${out.status}: ${await out.text()}`)
    assert.match(await device.waitFor('hello'), 'hello')
    const unknown = await fetch(`${api}/v1.0/bindings/nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operation: 'write', data: 'x' }) })
    assert.is((await unknown.json() as any).errorCode, 'ERR_INVOKE_OUTPUT_BINDING')
    const cmd = mqtt.connect(`mqtt://127.0.0.1:${rt.addresses.mqtt.port}`, { clientId: 'commander', reconnectPeriod: 0 })
    await new Promise<void>((resolve) => { cmd.once('connect', () => { resolve() }) })
    await cmd.publishAsync('devices/temp/commands', JSON.stringify({ operation: 'request', data: 'PING', correlationId: 'c-1' }), { qos: 1 })
    await device.waitFor('PING')
    await device.write('42\n')
    await until('the reply', () => events.some((e) => e.topic === 'devices/temp/replies' && e.body.correlationId === 'c-1'))
    await closeAll(cmd)

    // Out again: the bindings go, the device lines are released, nothing else is touched.
    await writeFile(file, JSON.stringify(base))
    await until('the second reload', () => rt.output().includes('"binding temp removed"'))
    await until('the GPIO line released', async () => !(await kernel.exported(17)))
    const ticks = events.filter((e) => e.topic === 'devices/tick/events').length
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.is(events.filter((e) => e.topic === 'devices/tick/events').length, ticks, 'the cron binding stopped')
    const after = await (await fetch(`${api}/v1.0/metadata`)).json() as any
    assert.not.ok(after.components.some((c: any) => c.name === 'temp'), 'no longer listed')
    assert.is(disconnects, 0, 'the MQTT client stayed connected through both reloads')
  } finally {
    await closeAll(sub)
    await rt.stop()
    await pty.kill()
    await kernel.stop()
    await new Promise<void>((resolve) => { app.close(() => { resolve() }) })
  }
})

test('devices - an invalid component is refused by mecha check with its path', async () => {
  const dir = await tmpDir('bad-binding')
  const file = join(dir, 'mecha.json')
  await writeFile(file, JSON.stringify({
    components: [
      component('p', 'bindings.serial', { path: '/dev/ttyUSB0', baudRate: '12345', parity: 'sideways' }),
      component('c', 'bindings.cron', { schedule: 'every tuesday-ish' }),
      component('x', 'bindings.nothing', {}),
    ],
  }))
  const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), 'check', '--config', file], { cwd: ROOT }).then(() => ({ code: 0, stderr: '' }), (e: any) => ({ code: e.code, stderr: String(e.stderr) }))
  assert.is(r.code, 1)
  assert.match(r.stderr, 'components[0].spec.metadata.baudRate')
  assert.match(r.stderr, 'components[0].spec.metadata.parity')
  assert.match(r.stderr, 'components[1].spec.metadata.schedule')
  assert.match(r.stderr, 'components[2].spec.type')
})

test.run()
