import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { Supervisor } from '../../core/supervisor/index.ts'
import type { AppStatus } from '../../core/supervisor/index.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { freePort } from '../helpers/mosquitto.ts'

test.after(cleanupTmp)
const log = createLogger({ level: 'silent' })

async function apps (list: unknown[]): Promise<any> {
  return (await parseConfig({ apps: list })).config.apps
}

async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

test('supervisor - a crashing app is restarted with backoff per restart: always; env carries the Dapr variables', async () => {
  const dir = await tmpDir('sup')
  const script = join(dir, 'crash.js')
  // Appends its env to a file, then exits with 3: a crash every time.
  await writeFile(script, `require('fs').appendFileSync(${JSON.stringify(join(dir, 'runs'))}, JSON.stringify({ port: process.env.DAPR_HTTP_PORT, id: process.env.APP_ID, extra: process.env.EXTRA }) + '\\n'); process.exit(3)`)
  const states: AppStatus[] = []
  const sup = new Supervisor({ apps: await apps([{ id: 'crasher', command: process.execPath, args: [script], env: { EXTRA: 'x' } }]), env: { DAPR_HTTP_PORT: '3999' }, log, delay: () => 50 })
  sup.on('state', (s) => { states.push(s) })
  sup.start()
  await until('three runs', async () => (await readFile(join(dir, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length >= 3)
  await sup.close()
  const runs = (await readFile(join(dir, 'runs'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l))
  assert.equal(runs[0], { port: '3999', id: 'crasher', extra: 'x' })
  assert.ok(states.some((s) => s.state.type === 'backoff' && s.state.code === 3))
  assert.ok(sup.status()[0].restarts >= 2)
})

test('supervisor - restart: on-failure leaves a clean exit alone; never does not restart', async () => {
  const sup = new Supervisor({
    apps: await apps([
      { id: 'clean', command: process.execPath, args: ['-e', 'process.exit(0)'], restart: 'on-failure' },
      { id: 'once', command: process.execPath, args: ['-e', 'process.exit(1)'], restart: 'never' },
    ]),
    env: {}, log, delay: () => 10,
  })
  sup.start()
  await until('both exited', () => sup.status().every((s) => s.state.type === 'exited'))
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(sup.status().map((s) => [s.id, s.state.type, s.restarts]), [['clean', 'exited', 0], ['once', 'exited', 0]])
  await sup.close()
})

test('supervisor - an app with a port is up only once it listens; stop sends SIGTERM then SIGKILL to a stubborn app', async () => {
  const port = await freePort()
  const server = `const s = require('http').createServer((q, r) => r.end('ok')); setTimeout(() => s.listen(${port}, '127.0.0.1'), 300); process.on('SIGTERM', () => {})`
  const sup = new Supervisor({ apps: await apps([{ id: 'web', command: process.execPath, args: ['-e', server], appPort: port }]), env: {}, log, stopGraceMs: 500 })
  let upAt = 0
  const t0 = Date.now()
  sup.on('up', () => { upAt = Date.now() })
  sup.start()
  await until('up', () => upAt > 0)
  assert.ok(upAt - t0 >= 250, 'not up before it listens')
  const s0 = Date.now()
  await sup.close()
  const ms = Date.now() - s0
  assert.ok(ms >= 450 && ms < 3000, `stubborn app killed after the grace period (${ms} ms)`)
  assert.is(sup.status()[0].state.type, 'stopped')
})

test('supervisor - a command that does not exist is reported, not thrown', async () => {
  const sup = new Supervisor({ apps: await apps([{ id: 'ghost', command: '/nonexistent/app', restart: 'never' }]), env: {}, log })
  sup.start()
  await until('exited', () => ['exited', 'failed'].includes(sup.status()[0].state.type))
  await sup.close()
})

test('runtime - supervised apps get DAPR_HTTP_PORT of the running API and can call it', async () => {
  const dir = await tmpDir('sup')
  const out = join(dir, 'health')
  const app = `fetch('http://127.0.0.1:' + process.env.DAPR_HTTP_PORT + '/v1.0/healthz').then(r => require('fs').writeFileSync(${JSON.stringify(out)}, String(r.status)))`
  const rt = await startRuntime({ apps: [{ id: 'caller', command: process.execPath, args: ['-e', app], restart: 'never' }] })
  await until('the app called healthz', async () => (await readFile(out, 'utf8').catch(() => '')) !== '')
  assert.is(await readFile(out, 'utf8'), '204')
  await rt.stop()
})

test('runtime - a supervised app is known by its own API token: accepted beside api.token, and its state keys are scoped to it', async () => {
  const dir = await tmpDir('sup')
  const out = join(dir, 'result')
  const app = `
    const base = 'http://127.0.0.1:' + process.env.DAPR_HTTP_PORT
    // It also claims to be another app: its own token decides, as a sidecar's app id would.
    const headers = { 'content-type': 'application/json', 'dapr-api-token': process.env.DAPR_API_TOKEN, 'dapr-app-id': 'other-app' }
    fetch(base + '/v1.0/state/statestore', { method: 'POST', headers, body: JSON.stringify([{ key: 'setpoint', value: 19.5 }]) })
      .then((r) => require('fs').writeFileSync(${JSON.stringify(out)}, String(r.status)))`
  const rt = await startRuntime({ api: { token: 'operator-token' }, apps: [{ id: 'thermo', command: process.execPath, args: ['-e', app], restart: 'never' }] })
  await until('the app saved its state', async () => (await readFile(out, 'utf8').catch(() => '')) !== '')
  assert.is(await readFile(out, 'utf8'), '204', 'the app\'s own token is accepted')
  const base = `http://127.0.0.1:${rt.addresses.api!.port}/v1.0/state/statestore/setpoint`
  const asThermo = await fetch(base, { headers: { 'dapr-api-token': 'operator-token', 'dapr-app-id': 'thermo' } })
  assert.is(asThermo.status, 200)
  assert.is(await asThermo.json(), 19.5)
  const asRuntime = await fetch(base, { headers: { 'dapr-api-token': 'operator-token' } })
  assert.is(asRuntime.status, 204, 'the key is thermo\'s, not the runtime\'s')
  const asOther = await fetch(base, { headers: { 'dapr-api-token': 'operator-token', 'dapr-app-id': 'other-app' } })
  assert.is(asOther.status, 204, 'a header cannot make an app write as another app')
  await rt.stop()
})

test.run()
