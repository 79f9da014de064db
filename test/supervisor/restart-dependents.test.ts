/**
 * `restart(id)` with systemd's `Requires=` + `After=` semantics: the apps that depend on the restarted one
 * (transitively) stop before it and start again after it is back up; an app stopped by hand stays stopped,
 * and apps outside the chain are not touched.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { Metrics } from '../../core/metrics.ts'
import { Supervisor } from '../../core/supervisor/index.ts'
import { freePort } from '../helpers/mosquitto.ts'
import { metricValue } from '../helpers/prometheus.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { apps, fixture, lines, log, until } from './helpers.ts'

test.after(cleanupTmp)

test('supervisor restart dependents - restart(db) stops web, then api, then db, starts db, api, web again; a stopped dependent and an unrelated app are left alone', async () => {
  const file = join(await tmpDir('sup-restart-deps'), 'order')
  const app = async (id: string, dependsOn: string[]): Promise<unknown> => ({ id, command: process.execPath, args: [fixture('ordered.mjs'), file], appPort: await freePort(), dependsOn })
  const metrics = new Metrics({ defaults: false })
  const sup = new Supervisor({
    apps: await apps([await app('db', []), await app('api', ['db']), await app('web', ['api']), await app('reports', ['db']), await app('other', [])]),
    env: {}, log, probeStartMs: 20, metrics,
  })
  const state = (id: string): string => sup.status().find((s) => s.id === id)!.state.type
  const pid = (id: string): number => { const s = sup.status().find((x) => x.id === id)!.state; return s.type === 'running' ? s.pid : -1 }
  try {
    sup.start()
    await until('all up', () => sup.status().every((s) => s.state.type === 'running'))
    assert.ok(await sup.stop('reports'))
    const before = { db: pid('db'), api: pid('api'), web: pid('web'), other: pid('other') }
    const mark = (await lines(file)).length

    assert.ok(await sup.restart('db'))
    await until('the chain up again', () => ['db', 'api', 'web'].every((id) => state(id) === 'running'))
    const after = (await lines(file)).slice(mark)
    assert.equal(after, ['stop web', 'stop api', 'stop db', 'start db', 'start api', 'start web'])
    for (const id of ['db', 'api', 'web'] as const) assert.is.not(pid(id), before[id], `${id} is a new process`)
    assert.is(pid('other'), before.other, 'an app outside the chain is untouched')
    assert.is(state('reports'), 'stopped', 'a dependent stopped by hand stays stopped')
    assert.equal(sup.status().map((s) => [s.id, s.restarts]), [['db', 1], ['api', 1], ['web', 1], ['reports', 0], ['other', 0]])
    const text = await metrics.text()
    assert.is(metricValue(text, 'mecha_app_restarts_total', { app: 'db', reason: 'requested' }), 1)
    assert.is(metricValue(text, 'mecha_app_restarts_total', { app: 'web', reason: 'dependency' }), 1)

    // Restarting a leaf touches only the leaf.
    const api = pid('api')
    assert.ok(await sup.restart('web'))
    await until('web up again', () => state('web') === 'running')
    assert.is(pid('api'), api)
  } finally {
    await sup.close()
  }
})

test.run()
