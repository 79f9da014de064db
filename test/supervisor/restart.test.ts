import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { exponentialBackoff, noJitter } from '../../core/backoff.ts'
import { ManualClock } from '../../core/clock.ts'
import { Metrics } from '../../core/metrics.ts'
import { Supervisor, type AppStatus } from '../../core/supervisor/index.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { apps, fixture, lines, log, sleep, until } from './helpers.ts'

test.after(cleanupTmp)

test('supervisor restart - a crashing app restarts with growing delays, then is held in crash-loop (status, event, metric, log) until started again', async () => {
  const dir = await tmpDir('sup-restart')
  const runs = join(dir, 'runs')
  const metrics = new Metrics({ defaults: false })
  const sup = new Supervisor({
    apps: await apps([{ id: 'crasher', command: process.execPath, args: [fixture('crash.mjs'), runs], crashLoop: { failures: 4, windowMs: 60_000 } }]),
    env: {}, log, metrics, dataDir: dir,
    delay: exponentialBackoff({ initialMs: 20, maxMs: 1000, jitter: noJitter }),
  })
  const states: AppStatus[] = []
  const loops: AppStatus[] = []
  sup.on('state', (s) => { states.push(s) })
  sup.on('crash-loop', (_app, s) => { loops.push(s) })
  sup.start()
  await until('crash loop', () => sup.status()[0].state.type === 'crash-loop')
  const delays = states.flatMap((s) => s.state.type === 'backoff' ? [s.state.delayMs] : [])
  assert.equal(delays, [20, 40, 80], 'three restarts, each delay doubled')
  assert.is((await lines(runs)).length, 4)
  assert.is(loops.length, 1)
  const st = sup.status()[0].state
  assert.ok(st.type === 'crash-loop' && st.failures === 4 && st.code === 1)
  assert.is(sup.watch('crasher')!.current.state.type, 'crash-loop', 'the status stream says it too')
  assert.match(await metrics.text(), /mecha_app_crash_loop\{app="crasher"\} 1/)
  assert.match(await metrics.text(), /mecha_app_restarts_total\{app="crasher",reason="exit"\} 3/)
  assert.ok((await sup.tail('crasher', 5)).some((l) => l.stream === 'supervisor' && l.line.includes('crash loop')), 'a log line says so')
  await sleep(300)
  assert.is((await lines(runs)).length, 4, 'no restart while in crash-loop')
  // Asked for: it runs again, with its failure count forgotten.
  sup.start('crasher')
  await until('runs again', async () => (await lines(runs)).length >= 5)
  assert.match(await metrics.text(), /mecha_app_crash_loop\{app="crasher"\} 0/)
  await until('crash loop again', () => sup.status()[0].state.type === 'crash-loop')
  assert.is((await lines(runs)).length, 8)
  await sup.close()
})

test('supervisor restart - restart: never stays down; on-failure leaves a clean exit alone', async () => {
  const dir = await tmpDir('sup-restart')
  const sup = new Supervisor({
    apps: await apps([
      { id: 'never', command: process.execPath, args: [fixture('crash.mjs'), join(dir, 'never')], restart: 'never' },
      { id: 'clean', command: process.execPath, args: [fixture('crash.mjs'), join(dir, 'clean'), '0'], restart: 'on-failure' },
    ]),
    env: {}, log, delay: () => 10,
  })
  sup.start()
  await until('both exited', () => sup.status().every((s) => s.state.type === 'exited'))
  await sleep(200)
  assert.equal(sup.status().map((s) => [s.id, s.state.type, s.restarts]), [['never', 'exited', 0], ['clean', 'exited', 0]])
  assert.is((await lines(join(dir, 'never'))).length, 1)
  await sup.close()
})

test('supervisor restart - the backoff starts over after a run longer than resetAfterMs (ManualClock)', async () => {
  const dir = await tmpDir('sup-restart')
  const clock = new ManualClock(1_000_000)
  const runs = join(dir, 'runs')
  const sup = new Supervisor({
    apps: await apps([{ id: 'c', command: process.execPath, args: [fixture('crash.mjs'), runs], backoff: { initialMs: 100, maxMs: 10_000, resetAfterMs: 5000 }, crashLoop: { failures: 100, windowMs: 1000 } }]),
    env: {}, log, clock, delay: exponentialBackoff({ initialMs: 100, maxMs: 10_000, jitter: noJitter }),
  })
  const delays: number[] = []
  sup.on('state', (s) => { if (s.state.type === 'backoff') delays.push(s.state.delayMs) })
  sup.start()
  for (let i = 1; i <= 3; i++) {
    await until(`backoff ${i}`, () => delays.length === i)
    clock.advance(delays[i - 1])
  }
  // The fourth run lasts (by the clock) longer than resetAfterMs.
  clock.advance(6000)
  await until('backoff 4', () => delays.length === 4)
  assert.equal(delays, [100, 200, 400, 100])
  await sup.close()
})

test.run()
