/**
 * bench - smoke: `node --import tsx bench/run.ts --smoke` (tiny counts) runs every benchmark under a time limit
 * and each one produces its rows: a Mecha figure and its anchor's, or a printed skip reason. No figure is
 * asserted: on a loaded CI machine they mean nothing; what this keeps is that the benchmarks still run.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const ROOT = join(import.meta.dirname, '..', '..')
const LIMIT_MS = 240_000
const BENCHES = ['broker', 'cloud-bridge', 'state', 'pubsub', 'executable', 'devices', 'fleet']

interface Row { bench: string; metric: string; mecha?: number; anchor?: number; skip?: string; anchorSkip?: string }

test('bench - the smoke run produces every benchmark\'s rows', async () => {
  const out = await mkdtemp(join(tmpdir(), 'bench-smoke-'))
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let log = ''
    child.stdout.on('data', (d: Buffer) => { log += d.toString() })
    child.stderr.on('data', (d: Buffer) => { log += d.toString() })
    const code = await new Promise<number | null>((resolve) => {
      // run.ts SIGKILLs what its benchmarks started when it gets SIGTERM; the group kill is the backstop.
      const term = setTimeout(() => { try { process.kill(-child.pid!, 'SIGTERM') } catch {} }, LIMIT_MS)
      const kill = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} }, LIMIT_MS + 10_000)
      child.on('close', (c) => { clearTimeout(term); clearTimeout(kill); resolve(c) })
    })
    const { rows, meta } = JSON.parse(await readFile(join(out, 'smoke.json'), 'utf8')) as { rows: Row[]; meta: { benches: Array<{ name: string; error?: string }> } }
    for (const b of meta.benches) assert.is(b.error, undefined, `${b.name}: ${b.error}\n${log.slice(-4000)}`)
    assert.is(code, 0, log.slice(-4000))
    for (const name of BENCHES) {
      const mine = rows.filter((r) => r.bench === name)
      assert.ok(mine.length > 0, `${name} produced no rows\n${log.slice(-4000)}`)
      for (const r of mine) {
        const hasMecha = typeof r.mecha === 'number' || (typeof r.skip === 'string' && r.skip.length > 0)
        const hasAnchor = typeof r.anchor === 'number' || (typeof r.anchorSkip === 'string' && r.anchorSkip.length > 0) || typeof r.skip === 'string'
        assert.ok(hasMecha && hasAnchor, `${name} / ${r.metric}: needs a figure and its anchor, or a skip reason: ${JSON.stringify(r)}`)
      }
    }
    assert.ok(log.includes('| benchmark | figure |'), 'the one table is printed')
  } finally {
    await rm(out, { recursive: true, force: true })
  }
})

test.run()
