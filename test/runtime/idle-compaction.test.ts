/**
 * memory.compactWhenIdle — when the idle compaction runs (in this process, with V8's real GC and the real
 * event-loop utilization), and that it gives committed heap back. That the executable's young generation
 * shrinks with it is checked in test/executable/x64.test.ts (Node 24; this process may be Node 20).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { getHeapStatistics } from 'node:v8'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLogger } from '../../core/logger.ts'
import { Metrics } from '../../core/metrics.ts'
import { IdleCompactor } from '../../edge/memory/idle-compaction.ts'

const quiet = createLogger({ level: 'silent' })
const MiB = 1048576

/** Keeps the event loop ~90 % busy for `ms`: a synchronous spin in every turn, with a short gap between. */
async function busyFor (ms: number): Promise<void> {
  const end = performance.now() + ms
  while (performance.now() < end) {
    const spinUntil = performance.now() + 18
    while (performance.now() < spinUntil) { /* busy */ }
    await sleep(2)
  }
}

/** Garbage that reaches the old space: ~`mib` MiB kept alive across a few scavenges, then dropped. */
function oldGarbage (mib: number): void {
  let keep: unknown[] = []
  for (let i = 0; i < mib * 64; i++) keep.push(Array.from({ length: 1024 }, (_, j) => ({ i, j })))
  // Touch it so it is not optimised away, then let it go.
  if (keep.length === 0) throw new Error('unreachable')
  keep = []
}

test('idle-compaction - never while the loop is busy; once it idles, one compaction that gives heap back', async () => {
  const metrics = new Metrics({ defaults: false })
  const c = await IdleCompactor.create({ log: quiet, metrics, intervalMs: 50, idleSamples: 3, idleBelow: 0.3, minSpacingMs: 0, minGrowthBytes: 8 * MiB })
  try {
    oldGarbage(40)
    const grown = getHeapStatistics().total_heap_size
    await busyFor(700)
    assert.is(c.count, 0, 'no compaction while the loop is ~90 % busy')
    await sleep(450)
    assert.ok(c.count >= 1, 'compacted once the loop idled')
    const last = c.last!
    assert.ok(last.afterBytes < last.beforeBytes - 8 * MiB, `gave heap back: ${(last.beforeBytes / MiB).toFixed(1)} -> ${(last.afterBytes / MiB).toFixed(1)} MiB (grown to ${(grown / MiB).toFixed(1)})`)
    assert.ok(last.pauseMs > 0)
    const text = await metrics.text()
    assert.match(text, new RegExp(`mecha_memory_idle_compactions_total ${c.count}\\b`))
    assert.match(text, /mecha_memory_idle_compaction_freed_bytes [1-9]\d{6,}/)
    // Idle, but the heap has not grown by minGrowthBytes since: no second compaction.
    const n = c.count
    await sleep(400)
    assert.is(c.count, n, 'no compaction without new growth')
  } finally {
    await c.close()
  }
})

test('idle-compaction - spaced: growth and idleness again within minSpacingMs do not compact again', async () => {
  const c = await IdleCompactor.create({ log: quiet, intervalMs: 50, idleSamples: 3, idleBelow: 0.3, minSpacingMs: 60_000, minGrowthBytes: 4 * MiB })
  try {
    oldGarbage(24)
    await sleep(350)
    assert.is(c.count, 1)
    oldGarbage(24)
    await sleep(350)
    assert.is(c.count, 1, 'the second burst waits for the spacing')
  } finally {
    await c.close()
  }
})

test('idle-compaction - close stops the checks', async () => {
  const c = await IdleCompactor.create({ log: quiet, intervalMs: 50, idleSamples: 1, idleBelow: 0.5, minSpacingMs: 0, minGrowthBytes: 1 })
  await c.close()
  oldGarbage(8)
  await sleep(200)
  assert.is(c.count, 0)
})

test.run()
