/**
 * Fault test: jobs live in the LevelDB store, so a job scheduled by a process that is then killed with -9 still
 * fires — exactly once — when a new process opens the same data dir; a trigger whose delivery was cut off by
 * kill -9 is delivered again at the next start (at least once), and never before its due time.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CHILD = fileURLToPath(new URL('./kill9-child.ts', import.meta.url))
const children = new Set<ChildProcess>()

interface Child { proc: ChildProcess; lines: string[]; exited: Promise<void> }

function start (args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(proc)
  const lines: string[] = []
  let err = ''
  proc.stdout!.on('data', (d: Buffer) => { lines.push(...d.toString().split('\n').filter((l) => l !== '')) })
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<void>((resolve) => proc.on('exit', (code, signal) => {
    children.delete(proc)
    if (code !== null && code !== 0) console.error(`child exited ${code}: ${err}`)
    void signal
    resolve()
  }))
  return { proc, lines, exited }
}

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function kill9 (c: Child): Promise<void> {
  c.proc.kill('SIGKILL')
  await c.exited
}

async function log (file: string): Promise<Array<{ name: string; dueAt: number; now: number; attempt: number; data: unknown }>> {
  if (!existsSync(file)) return []
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

test('jobs kill9 - a job scheduled before kill -9 fires once after restart, not before due', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mecha-jobs-kill9-'))
  const file = join(dir, 'fired.log')
  try {
    const a = start(['schedule', dir, 'survivor', JSON.stringify({ dueTime: '2s', data: { v: 42 } })])
    await until('scheduled', () => a.lines.includes('scheduled'))
    await kill9(a)
    const b = start(['run', dir, file])
    await until('delivered', () => b.lines.includes('delivered'))
    // Give a double fire the chance to show, then kill this one too and start once more.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await kill9(b)
    const c = start(['run', dir, file])
    await until('started', () => c.lines.includes('started'))
    await new Promise((resolve) => setTimeout(resolve, 500))
    await kill9(c)
    const fired = await log(file)
    assert.is(fired.length, 1, JSON.stringify(fired))
    assert.is(fired[0]!.name, 'survivor')
    assert.equal(fired[0]!.data, { v: 42 })
    assert.ok(fired[0]!.now >= fired[0]!.dueAt, 'never before due')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('jobs kill9 - a delivery cut off by kill -9 is delivered again at the next start, then never again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mecha-jobs-kill9-'))
  const file = join(dir, 'fired.log')
  try {
    const a = start(['schedule', dir, 'cut', JSON.stringify({ dueTime: '1s', data: 'x' })])
    await until('scheduled', () => a.lines.includes('scheduled'))
    await kill9(a)
    const b = start(['run', dir, file, 'hang'])
    await until('delivering', () => b.lines.includes('delivering'))
    await kill9(b) // the app never answered: the trigger is still pending in the store
    const c = start(['run', dir, file])
    await until('delivered', () => c.lines.includes('delivered'))
    await new Promise((resolve) => setTimeout(resolve, 300))
    await kill9(c)
    const d = start(['run', dir, file])
    await until('started', () => d.lines.includes('started'))
    await new Promise((resolve) => setTimeout(resolve, 500))
    await kill9(d)
    const fired = await log(file)
    assert.is(fired.length, 2, JSON.stringify(fired))
    assert.ok(fired.every((f) => f.name === 'cut' && f.data === 'x' && f.now >= f.dueAt))
    assert.is(fired[0]!.dueAt, fired[1]!.dueAt, 'the same trigger, delivered again')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.after(() => { for (const c of children) c.kill('SIGKILL') })

test.run()
