/**
 * memory.maxHeapMiB - the plan (re-execute once with --max-old-space-size in NODE_OPTIONS, unless the limit is
 * applied already or given by the user), and the executable (Node 24 has process.execve) running with the
 * limit in force in the same process: its pid's environment carries the marker, and V8 reports the limit.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { APPLIED_ENV, planHeapLimit } from '../../edge/cli/heap-limit.ts'
import { exePath } from '../executable/exe.ts'

test('heap-limit - no option, nothing to do', () => {
  assert.equal(planHeapLimit(undefined, {}, []), { type: 'none' })
})

test('heap-limit - re-executes once with the flag added to NODE_OPTIONS and the marker set', () => {
  const plan = planHeapLimit(96, { NODE_OPTIONS: '--enable-source-maps', HOME: '/root' }, ['--import', 'tsx'])
  assert.is(plan.type, 'reexec')
  if (plan.type !== 'reexec') return
  assert.is(plan.env.NODE_OPTIONS, '--enable-source-maps --max-old-space-size=96')
  assert.is(plan.env[APPLIED_ENV], '96')
  assert.is(plan.env.HOME, '/root')
  // The re-executed process sees its marker and does not go round again.
  assert.equal(planHeapLimit(96, plan.env, []), { type: 'applied', limitMiB: 96 })
})

test('heap-limit - a limit the user gives node wins over the config', () => {
  assert.equal(planHeapLimit(96, { NODE_OPTIONS: '--max-old-space-size=200' }, []), { type: 'overridden', flag: '--max-old-space-size=200' })
  assert.equal(planHeapLimit(96, {}, ['--max_old_space_size=300']), { type: 'overridden', flag: '--max_old_space_size=300' })
})

test('heap-limit - a changed limit re-executes again (the marker names the old one)', () => {
  assert.is(planHeapLimit(128, { [APPLIED_ENV]: '96', NODE_OPTIONS: '' }, []).type, 'reexec')
})

const exe = exePath('x64')
const it = process.arch === 'x64' && existsSync(exe) ? test : test.skip

it('heap-limit - the executable runs with memory.maxHeapMiB in force, in the same process', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mecha-heap-'))
  try {
    const config = join(dir, 'mecha.json')
    await writeFile(config, JSON.stringify({ memory: { maxHeapMiB: 96 }, mqtt: { port: 0 }, api: { port: 0, grpcPort: 0 }, ui: { port: 0 }, metrics: { port: 0 }, dataDir: join(dir, 'data') }))
    const env: Record<string, string> = { PATH: '/usr/bin:/bin', MECHA_LOG_PRETTY: 'false', MECHA_NATIVE_CACHE: join(dir, 'cache') }
    const child = spawn(exe, ['run', '--config', config], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const running = new Promise<void>((resolve, reject) => {
      const on = (d: Buffer): void => { out += String(d); if (out.includes('mecha is running')) resolve() }
      child.stdout.on('data', on); child.stderr.on('data', on)
      child.on('exit', (code) => { reject(new Error(`exited ${code}: ${out}`)) })
      setTimeout(() => { reject(new Error(`not running after 30 s: ${out}`)) }, 30_000).unref()
    })
    try {
      await running
      const environ = readFileSync(`/proc/${child.pid!}/environ`, 'utf8').split('\0')
      assert.ok(environ.includes(`${APPLIED_ENV}=96`), 'the spawned pid itself was re-executed with the limit')
      assert.ok(environ.includes('NODE_OPTIONS=--max-old-space-size=96'))
      const line = out.split('\n').find((l) => l.includes('heap limit 96 MiB'))
      assert.ok(line !== undefined, out)
      const reported = Number(/V8 reports (\d+) MiB/.exec(line)![1])
      assert.ok(reported >= 96 && reported < 96 + 64, `V8's limit ${reported} MiB`)
    } finally {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
