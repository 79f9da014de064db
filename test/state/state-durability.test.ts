import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { LevelStore } from '../../core/store/index.ts'
import { LevelStateStore } from '../../core/state/index.ts'
import { createHarness } from '../helpers/api-harness.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { track } from '../helpers/children.ts'

const ROOT = join(import.meta.dirname, '../..')
test.after(cleanupTmp)

test('state durability - 50 concurrent first-write increments over HTTP with retry end at exactly 50', async () => {
  const h = await createHarness({ kind: 'server' })
  const port = await h.listen()
  const base = `http://127.0.0.1:${port}/v1.0/state/statestore`
  const post = (body: unknown): Promise<Response> => fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.is((await post([{ key: 'counter', value: 0 }])).status, 204)
  let conflicts = 0
  const increment = async (): Promise<void> => {
    for (let attempt = 0; attempt < 500; attempt++) {
      const cur = await fetch(`${base}/counter`)
      const etag = cur.headers.get('etag')!
      const n = await cur.json() as number
      const res = await post([{ key: 'counter', value: n + 1, etag, options: { concurrency: 'first-write' } }])
      if (res.status === 204) return
      const body = await res.json() as { errorCode: string }
      assert.is(res.status, 409); assert.is(body.errorCode, 'ERR_STATE_SAVE')
      conflicts++
    }
    throw new Error('too many retries')
  }
  await Promise.all(Array.from({ length: 50 }, increment))
  assert.is(await (await fetch(`${base}/counter`)).json(), 50)
  assert.ok(conflicts > 0, `the increments raced (${conflicts} conflicts)`)
  await h.close()
})

for (const durability of ['process', 'power'] as const) {
  test(`state durability - ${durability}: every acknowledged save survives kill -9 of the server`, async () => {
    const dir = await tmpDir('state-kill')
    const child = track(spawn(process.execPath, ['--import', 'tsx', 'test/state/fixtures/state-server.ts', dir, durability], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }), 'state server')
    const closed = once(child, 'close')
    const [line] = await once(createInterface({ input: child.stdout! }), 'line') as [string]
    const { port } = JSON.parse(line) as { port: number }
    const url = `http://127.0.0.1:${port}/v1.0/state/statestore`
    const acked = new Map<string, unknown>()
    let killed = false
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 5000 && !killed; i++) {
        const key = `w${w}-${i}`; const value = { w, i, pad: 'x'.repeat(i % 200) }
        try {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key, value }]) })
          if (res.status === 204) acked.set(key, value)
        } catch { return } // the connection died with the server
        if (acked.size >= 400 && !killed) { killed = true; child.kill('SIGKILL') }
      }
    }
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)))
    await closed
    assert.ok(acked.size >= 400, `acknowledged ${acked.size}`)
    const store = await LevelStore.create({ dataDir: dir })
    const state = await LevelStateStore.create({ namespace: store.namespace('state-statestore'), name: 'statestore' })
    const keys = [...acked.keys()]
    const items = await state.bulkGet(keys.map((k) => `test-gw||${k}`))
    const missing = keys.filter((k, i) => items[i] === undefined)
    assert.equal(missing, [], `${missing.length} acknowledged saves lost`)
    keys.forEach((k, i) => assert.equal(items[i]!.value, acked.get(k)))
    // The ETag counter resumes above every version handed out before the crash.
    const etag = await state.set({ key: 'after', value: 1 })
    assert.ok(items.every((it) => Number(it!.etag) < Number(etag)))
    await state.close(); await store.close()
  })
}

test.run()
