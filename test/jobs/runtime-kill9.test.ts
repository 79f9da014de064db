/**
 * Through the whole runtime: a job scheduled with the Jobs API survives kill -9 of the runtime and fires once,
 * at its due time, as `POST /job/{name}` on its app.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { spawnRuntime, testConfig } from '../helpers/runtime.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

test('jobs - a job scheduled, the runtime killed with -9 and restarted: it still fires, once', async () => {
  const calls: Array<{ path: string; body: string; at: number }> = []
  const app = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => {
      // The runtime also asks the app for its subscriptions (GET /dapr/subscribe): only job callbacks count.
      if ((req.url ?? '').startsWith('/job/')) calls.push({ path: req.url ?? '', body, at: Date.now() })
      res.writeHead(req.url === '/dapr/subscribe' ? 200 : 200, { 'content-type': 'application/json' }).end(req.url === '/dapr/subscribe' ? '[]' : '')
    })
  })
  await new Promise<void>((resolve) => { app.listen(0, '127.0.0.1', resolve) })
  const appPort = (app.address() as AddressInfo).port
  const config = await testConfig({ apps: [{ id: 'jobapp', appPort }] })
  let rt = await spawnRuntime({ config })
  try {
    const api = (): string => `http://127.0.0.1:${rt.addresses.api.port}`
    const scheduledAt = Date.now()
    const res = await fetch(`${api()}/v1.0-alpha1/jobs/nightly`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'dapr-app-id': 'jobapp' },
      body: JSON.stringify({ dueTime: '3s', data: { reason: 'test' } }),
    })
    assert.is(res.status, 204, await res.text())
    await rt.kill9()
    assert.is(calls.length, 0, 'not before due')
    rt = await spawnRuntime({ config })
    const deadline = Date.now() + 15_000
    while (calls.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    await new Promise((resolve) => setTimeout(resolve, 1500)) // a second firing would come now
    assert.is(calls.length, 1, `fired once (${calls.length})`)
    assert.is(calls[0].path, '/job/nightly')
    assert.equal(JSON.parse(calls[0].body), { reason: 'test' })
    assert.ok(calls[0].at >= scheduledAt + 2900, 'never before its due time')
  } finally {
    await rt.stop()
    await new Promise<void>((resolve) => { app.close(() => { resolve() }) })
  }
})

test.run()
