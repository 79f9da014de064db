/**
 * memory.compactWhenIdle in the executable (Node 24, the memory-reducing GC): once the started runtime idles,
 * its young generation is given back (V8 keeps it at its cap otherwise, which the same run with the option
 * off shows side by side).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { capture, exePath, freshCopy, spawnExe, stop, waitHealthy, writeConfig } from './exe.ts'

const made: string[] = []
test.before(() => { assert.ok(existsSync(exePath('x64')), 'dist/mecha-linux-x64 is missing: the build failed (see the setup output above)') })
test.after(async () => { await Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))) })

const MiB = 1048576
function metric (text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

async function idleRun (compactWhenIdle: boolean, waitMs: number): Promise<{ compactions: number; newSpace: number; output: string }> {
  const { dir, exe } = await freshCopy('x64', `mecha-idle-${String(compactWhenIdle)}`); made.push(dir)
  const { file, ports } = await writeConfig(join(dir, 'etc'))
  await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), memory: { compactWhenIdle } }))
  const child = spawnExe('x64', exe, ['run', '--config', file, '--data-dir', join(dir, 'data')], { cwd: dir, env: { MECHA_NATIVE_CACHE: join(dir, 'cache'), MECHA_LOG_LEVEL: 'debug' } })
  const out = capture(child)
  try {
    await waitHealthy(ports.api, child, 30_000)
    const deadline = Date.now() + waitMs
    let text = ''
    while (Date.now() < deadline) {
      text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text()
      if (compactWhenIdle && (metric(text, 'mecha_memory_idle_compactions_total') ?? 0) >= 1) break
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return {
      compactions: metric(text, 'mecha_memory_idle_compactions_total') ?? 0,
      newSpace: metric(text, 'mecha_nodejs_heap_space_size_total_bytes{space="new"}') ?? NaN,
      output: out.text(),
    }
  } finally {
    assert.is((await stop(child, 5000)).code, 0, out.text())
  }
}

test('executable - idle: the young generation is given back with memory.compactWhenIdle, kept at its cap without', async () => {
  // Both at once; the one without the option watches as long as the other may take (first check 5 s after start).
  const [on, off] = await Promise.all([idleRun(true, 20_000), idleRun(false, 8_000)])
  assert.is(on.compactions, 1, on.output)
  assert.match(on.output, /idle: heap compacted/)
  assert.ok(on.newSpace <= 2 * MiB, `young generation after the compaction: ${(on.newSpace / MiB).toFixed(1)} MiB`)
  assert.is(off.compactions, 0)
  assert.ok(off.newSpace >= 8 * MiB, `without it V8 keeps the young generation: ${(off.newSpace / MiB).toFixed(1)} MiB`)
})

test.run()
