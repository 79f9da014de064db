import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { MechaError } from '../../core/errors.ts'
import { Supervisor } from '../../core/supervisor/index.ts'
import { freePort } from '../helpers/mosquitto.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { alive, apps, fixture, lines, log, until } from './helpers.ts'

test.after(cleanupTmp)

test('supervisor order - apps start in dependsOn order (each once the one before is up) and stop in reverse', async () => {
  const dir = await tmpDir('sup-order')
  const file = join(dir, 'order')
  const app = async (id: string, dependsOn: string[]): Promise<unknown> => ({ id, command: process.execPath, args: [fixture('ordered.mjs'), file], appPort: await freePort(), dependsOn })
  // Listed out of order on purpose.
  const sup = new Supervisor({ apps: await apps([await app('web', ['api']), await app('api', ['db']), await app('db', []), await app('metrics', ['db'])]), env: {}, log, probeStartMs: 20 })
  sup.start()
  assert.equal(sup.status().find((s) => s.id === 'web')!.state, { type: 'waiting', for: ['api'] })
  await until('all up', () => sup.status().every((s) => s.state.type === 'running'))
  const started = await lines(file)
  assert.is(started[0], 'start db')
  assert.ok(started.indexOf('start api') < started.indexOf('start web'))
  await sup.close()
  const stopped = (await lines(file)).filter((l) => l.startsWith('stop'))
  assert.is(stopped.length, 4)
  assert.ok(stopped.indexOf('stop web') < stopped.indexOf('stop api'))
  assert.is(stopped[3], 'stop db', 'the app others depend on stops last')
})

test('supervisor order - reconfigure starts added, stops removed, restarts changed and leaves unchanged ones running', async () => {
  const idle = (id: string, mark = ''): unknown => ({ id, command: process.execPath, args: [fixture('idle.mjs')], env: { MARK: mark } })
  const sup = new Supervisor({ apps: await apps([idle('keep'), idle('change', 'v1'), idle('drop')]), env: {}, log, stopGraceMs: 1000 })
  sup.start()
  const pid = (id: string): number => { const s = sup.status().find((x) => x.id === id)?.state; return s?.type === 'running' ? s.pid : -1 }
  await until('running', () => sup.status().every((s) => s.state.type === 'running'))
  const before = { keep: pid('keep'), change: pid('change'), drop: pid('drop') }
  const result = await sup.reconfigure(await apps([idle('keep'), idle('change', 'v2'), idle('add')]))
  assert.equal(result, { added: ['add'], removed: ['drop'], changed: ['change'], unchanged: ['keep'] })
  await until('running again', () => sup.status().every((s) => s.state.type === 'running'))
  assert.equal(sup.status().map((s) => s.id), ['keep', 'change', 'add'])
  assert.is(pid('keep'), before.keep, 'unchanged app untouched')
  assert.is.not(pid('change'), before.change, 'changed app restarted')
  assert.not.ok(await alive(before.change))
  assert.not.ok(await alive(before.drop), 'removed app stopped')
  await until('it runs with its new config', async () => (await sup.tail('change', 10)).some((l) => l.line.startsWith('idle') && l.line.endsWith(' v2')))
  // A bad list changes nothing.
  try {
    await sup.reconfigure(await apps([{ ...(idle('a') as object), dependsOn: ['b'] }, { ...(idle('b') as object), dependsOn: ['a'] }]))
    assert.unreachable('a cycle is rejected')
  } catch (e) {
    assert.instance(e, MechaError)
    assert.is((e as MechaError).code, 'MECHA_ERR_CONFIG_INVALID')
  }
  assert.equal(sup.status().map((s) => s.id), ['keep', 'change', 'add'])
  assert.is(pid('keep'), before.keep)
  await sup.close()
})

test('supervisor order - stop(id) keeps an app down, restart(id) and start(id) bring it back', async () => {
  const sup = new Supervisor({ apps: await apps([{ id: 'x', command: process.execPath, args: [fixture('idle.mjs')] }]), env: {}, log, delay: () => 10 })
  sup.start()
  await until('running', () => sup.status()[0].state.type === 'running')
  assert.ok(await sup.stop('x'))
  assert.is(sup.status()[0].state.type, 'stopped')
  assert.not.ok(await sup.stop('nope'))
  assert.ok(sup.start('x'))
  await until('running', () => sup.status()[0].state.type === 'running')
  const s0 = sup.status()[0].state
  assert.ok(await sup.restart('x'))
  await until('running', () => sup.status()[0].state.type === 'running')
  const s1 = sup.status()[0].state
  assert.ok(s0.type === 'running' && s1.type === 'running' && s0.pid !== s1.pid)
  assert.is(sup.status()[0].restarts, 1)
  await sup.close()
})

test.run()
