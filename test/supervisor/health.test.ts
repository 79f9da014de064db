import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Metrics } from '../../core/metrics.ts'
import { Supervisor, type AppStatus } from '../../core/supervisor/index.ts'
import { HealthProbe, type Health } from '../../core/supervisor/health.ts'
import { ManualClock } from '../../core/clock.ts'
import { freePort } from '../helpers/mosquitto.ts'
import { apps, fixture, log, until } from './helpers.ts'

const flush = (): Promise<void> => new Promise((r) => setImmediate(r))

test('supervisor health - Dapr semantics: threshold failures make unhealthy, one success healthy, restart due after restartAfter more (ManualClock)', async () => {
  const clock = new ManualClock()
  let ok = true
  const changes: Health[] = []
  let restarts = 0
  const probe = new HealthProbe({
    host: '127.0.0.1', port: 1, clock, config: { path: '/healthz', intervalMs: 1000, timeoutMs: 100, threshold: 3, restartAfter: 2 },
    probe: async () => ok, onChange: (h) => { changes.push(h) }, onRestartDue: () => { restarts++ },
  })
  const tick = async (): Promise<void> => { clock.advance(1000); await flush() }
  probe.start(); await flush()
  assert.equal(changes, ['healthy'])
  ok = false
  await tick(); await tick()
  assert.is(probe.health, 'healthy', 'two failures are below the threshold')
  await tick()
  assert.equal(changes, ['healthy', 'unhealthy'])
  await tick()
  assert.is(restarts, 0)
  await tick()
  assert.is(restarts, 1, 'restartAfter failed probes while unhealthy')
  ok = true
  await tick()
  assert.equal(changes, ['healthy', 'unhealthy', 'healthy'])
  probe.stop()
  assert.is(probe.health, 'unknown')
})

test('supervisor health - a slow start is not reported unhealthy within threshold × interval (ManualClock)', async () => {
  const clock = new ManualClock()
  const changes: Health[] = []
  const probe = new HealthProbe({
    host: '127.0.0.1', port: 1, clock, startIntervalMs: 100, config: { path: '/healthz', intervalMs: 1000, timeoutMs: 100, threshold: 3, restartAfter: 0 },
    probe: async () => false, onChange: (h) => { changes.push(h) }, onRestartDue: () => {},
  })
  probe.start(); await flush()
  for (let i = 0; i < 29; i++) { clock.advance(100); await flush() }
  assert.equal(changes, [], 'starting: probed every 100 ms, not unhealthy yet')
  clock.advance(100); await flush()
  assert.equal(changes, ['unhealthy'])
  probe.stop()
})

test('supervisor health - a real app: up once healthy, unhealthy → event, recovered → event, restarted after the limit', async () => {
  const port = await freePort()
  const metrics = new Metrics({ defaults: false })
  const sup = new Supervisor({
    apps: await apps([{ id: 'web', command: process.execPath, args: [fixture('health.mjs')], appPort: port, health: { intervalMs: 150, timeoutMs: 100, threshold: 2, restartAfter: 6 } }]),
    env: {}, log, metrics, probeStartMs: 30,
  })
  const events: Array<[string, AppStatus]> = []
  let ups = 0
  sup.on('healthy', (_a, s) => { events.push(['healthy', s]) })
  sup.on('unhealthy', (_a, s) => { events.push(['unhealthy', s]) })
  sup.on('up', () => { ups++ })
  sup.start()
  // Up at the first healthy probe (a slow start under load may be reported unhealthy before that).
  await until('up', () => ups === 1)
  assert.is(events[events.length - 1][0], 'healthy')
  events.length = 0
  events.push(['healthy', sup.status()[0]])
  assert.is(sup.status()[0].health, 'healthy')
  assert.is(sup.status()[0].state.type, 'running')
  const pid0 = (sup.status()[0].state as { pid: number }).pid
  const base = `http://127.0.0.1:${port}`
  await fetch(`${base}/fail`).then((r) => r.text())
  await until('unhealthy', () => events.length === 2)
  assert.is(events[1][0], 'unhealthy')
  assert.is(events[1][1].health, 'unhealthy')
  await fetch(`${base}/ok`).then((r) => r.text())
  await until('recovered', () => events.length === 3)
  assert.is(events[2][0], 'healthy')
  assert.is(sup.status()[0].restarts, 0)
  await fetch(`${base}/fail`).then((r) => r.text())
  // unhealthy after 2 failures, restart after 6 more; the new process starts healthy.
  await until('restarted and healthy', () => sup.status()[0].restarts === 1 && sup.status()[0].health === 'healthy')
  const s = sup.status()[0].state
  assert.ok(s.type === 'running' && s.pid !== pid0)
  assert.match(await metrics.text(), /mecha_app_restarts_total\{app="web",reason="health"\} 1/)
  assert.match(await metrics.text(), /mecha_app_healthy\{app="web"\} 1/)
  await sup.close()
})

test.run()
