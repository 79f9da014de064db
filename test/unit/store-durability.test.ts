import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LevelStore } from '../../core/store/index.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { track } from '../helpers/children.ts'

test.after(cleanupTmp)

test('store - power durability: concurrent writers share fsyncs (group commit)', async () => {
  const store = await LevelStore.create({ dataDir: await tmpDir('gc'), durability: 'power' })
  const ns = store.namespace('s')
  await Promise.all(Array.from({ length: 200 }, (_, i) => ns.put(`k${i}`, i)))
  const { writes, syncs } = store.commitStats
  assert.is(writes, 200)
  assert.ok(syncs < writes / 4, `200 concurrent writes took ${syncs} syncs`)
  assert.is(await ns.get('k199'), 199)
  await store.close()
})

test('store - a second open of the same data dir names the holder and changes nothing', async () => {
  const dir = await tmpDir('lock')
  const first = await LevelStore.create({ dataDir: dir })
  await first.namespace('m').put('k', 'v')
  try {
    await LevelStore.create({ dataDir: dir })
    assert.unreachable('second open must fail')
  } catch (err) {
    assert.is((err as { code?: string }).code, 'MECHA_ERR_DATA_DIR_LOCKED')
    assert.match((err as Error).message, `locked by pid ${process.pid}`)
  }
  assert.is(await first.namespace('m').get('k'), 'v')
  await first.close()
  assert.is(await readFile(join(dir, 'mecha.pid'), 'utf8').catch(() => 'gone'), 'gone', 'close removes the pid file')
  const again = await LevelStore.create({ dataDir: dir })
  assert.is(await again.namespace('m').get('k'), 'v')
  await again.close()
})

// A child process writes, reports each acknowledged key, and is killed with SIGKILL mid-stream.
const WRITER = `
import { LevelStore } from './core/store/index.ts'
const store = await LevelStore.create({ dataDir: process.argv[1], durability: process.argv[2] })
const ns = store.namespace('acked')
for (let i = 0; i < 100000; i++) { await ns.put('k' + String(i).padStart(6, '0'), { i }); process.stdout.write(i + '\\n') }
`

for (const durability of ['process', 'power'] as const) {
  test(`store - ${durability} durability: every acknowledged write survives kill -9`, async () => {
    const dir = await tmpDir('kill')
    const child = track(spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WRITER, dir, durability], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] }), 'store writer')
    let acked = -1
    let buf = ''
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const lines = buf.split('\n'); buf = lines.pop()!
      if (lines.length > 0) acked = Number(lines[lines.length - 1])
      if (acked >= 300) child.kill('SIGKILL')
    })
    await once(child, 'close')
    assert.ok(acked >= 300, `writer acknowledged ${acked}`)
    const store = await LevelStore.create({ dataDir: dir })
    const ns = store.namespace('acked')
    let n = 0
    for await (const [k, v] of ns.entries()) { assert.is((v as { i: number }).i, Number(k.slice(1))); n++ }
    assert.ok(n >= acked + 1, `found ${n} keys, ${acked + 1} were acknowledged`)
    await store.close()
  })
}

test.run()
