import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Supervisor } from '../../core/supervisor/index.ts'
import { parseStat } from '../../core/supervisor/process-tree.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { alive, apps, fixture, lines, log, until } from './helpers.ts'

test.after(cleanupTmp)

test('supervisor tree - parseStat reads a command name with spaces and parentheses', () => {
  const info = parseStat('4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 0 0')
  assert.equal(info, { pid: 4242, state: 'S', ppid: 1, pgid: 4242, start: 777 })
})

test('supervisor tree - stop leaves no process behind: a grandchild that called setsid and ignores SIGTERM is killed too', async () => {
  if (!existsSync('/proc/self/stat')) { console.log('skipped: no /proc on this system'); return }
  const dir = await tmpDir('sup-tree')
  const pids = join(dir, 'pids')
  const sup = new Supervisor({ apps: await apps([{ id: 'forker', command: process.execPath, args: [fixture('tree.mjs'), pids], stopGraceMs: 300 }]), env: {}, log, trackMs: 100 })
  sup.start()
  await until('three processes', async () => (await lines(pids)).length === 3)
  const procs = (await lines(pids)).map((l) => JSON.parse(l) as { role: string; pid: number })
  const grandchild = procs.find((p) => p.role === 'grandchild')!
  const middle = procs.find((p) => p.role === 'middle')!
  await until('the middle process exited', async () => !(await alive(middle.pid)))
  assert.ok(await alive(grandchild.pid), 'the orphaned grandchild runs on its own')
  const t0 = Date.now()
  await sup.close()
  for (const p of procs) assert.not.ok(await alive(p.pid), `${p.role} ${p.pid} is gone`)
  assert.ok(Date.now() - t0 >= 250, 'the SIGTERM-ignoring grandchild got its grace period, then SIGKILL')
  assert.is(sup.status()[0].state.type, 'stopped')
})

test('supervisor tree - an app that crashes takes its leftovers with it before it is restarted', async () => {
  if (!existsSync('/proc/self/stat')) { console.log('skipped: no /proc on this system'); return }
  const dir = await tmpDir('sup-tree')
  const pids = join(dir, 'pids')
  const sup = new Supervisor({ apps: await apps([{ id: 'forker', command: process.execPath, args: [fixture('tree.mjs'), pids], stopGraceMs: 200 }]), env: {}, log, trackMs: 100, delay: () => 50 })
  sup.start()
  await until('three processes', async () => (await lines(pids)).length === 3)
  const first = (await lines(pids)).map((l) => JSON.parse(l) as { role: string; pid: number })
  process.kill(first.find((p) => p.role === 'app')!.pid, 'SIGKILL')
  await until('restarted', async () => (await lines(pids)).length === 6)
  await until('the first grandchild is gone', async () => !(await alive(first.find((p) => p.role === 'grandchild')!.pid)), 3000)
  await sup.close()
  for (const l of await lines(pids)) { const p = JSON.parse(l); assert.not.ok(await alive(p.pid), `${p.role} ${p.pid} is gone`) }
})

test.run()
