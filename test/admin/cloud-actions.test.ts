/**
 * The Cloud page's actions through the admin API of a real runtime: "Test connection" reports what a real
 * mosquitto answered (and a refusal), "Drop queued messages" empties the outbox with the ledger balanced.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { spawnRuntime, testConfig } from '../helpers/runtime.ts'
import { firstLogin } from '../helpers/admin.ts'
import { Mosquitto, freePort } from '../helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { execFile } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

test.after(cleanupTmp)

test('admin - cloud test connection and drop queued messages', async () => {
  const cloud = await Mosquitto.start({ users: { gw: 'right-secret' } })
  const config = await testConfig({ cloud: { url: `mqtt://127.0.0.1:${await freePort()}`, username: 'gw', password: 'right-secret', forward: [{ from: 'sensors/#', to: 'gw/' }] } })
  const rt = await spawnRuntime({ config })
  try {
    const ui = `http://127.0.0.1:${rt.addresses.ui.port}`
    const { cookie, csrf } = await firstLogin(rt.addresses.ui.port, config.dataDir)
    const post = async (path: string, body: unknown): Promise<{ status: number; json: any }> => {
      const res = await fetch(ui + path, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify(body) })
      return { status: res.status, json: await res.json() }
    }
    // The password as the page shows it ("(set)") stands for the one in force.
    const ok = await post('/admin/api/cloud/test', { cloud: { url: cloud.url, username: 'gw', password: '(set)' } })
    assert.is(ok.status, 200, JSON.stringify(ok.json))
    assert.ok(ok.json.ok, ok.json.message)
    const refused = await post('/admin/api/cloud/test', { cloud: { url: cloud.url, username: 'gw', password: 'wrong-secret' } })
    assert.not.ok(refused.json.ok)
    assert.match(refused.json.message, /refused|not authorized|bad user/i)
    const invalid = await post('/admin/api/cloud/test', { cloud: { url: 'ftp://x' } })
    assert.not.ok(invalid.json.ok)
    assert.match(invalid.json.message, 'cloud.url')

    // The configured cloud is down: publishes queue, then an operator drops them.
    const pub = mqtt.connect(`mqtt://127.0.0.1:${rt.addresses.mqtt.port}`, { clientId: 'queuer', reconnectPeriod: 0 })
    await new Promise<void>((resolve) => { pub.once('connect', () => { resolve() }) })
    for (let i = 0; i < 20; i++) await pub.publishAsync('sensors/x', String(i), { qos: 1 })
    pub.end(true)
    const before = (await (await fetch(ui + '/admin/api/cloud', { headers: { cookie } })).json()) as any
    assert.is(before.outbox.queued, 20)
    const age = Date.now() - Date.parse(before.outbox.oldestQueuedAt)
    assert.ok(age >= 0 && age < 60_000, `the oldest queued message's time (${String(before.outbox.oldestQueuedAt)})`)
    const noCsrf = await fetch(ui + '/admin/api/cloud/outbox/drop', { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: '{}' })
    assert.is(noCsrf.status, 403, 'refused without the CSRF token')
    const drop = await post('/admin/api/cloud/outbox/drop', {})
    assert.equal(drop.json, { dropped: 20 })
    const after = (await (await fetch(ui + '/admin/api/cloud', { headers: { cookie } })).json()) as any
    assert.is(after.outbox.queued, 0)
    assert.is(after.outbox.dropped, 20)
  } finally {
    await rt.stop()
    await cloud.stop()
  }
})

test('admin - certificates pasted as PEM are written to the data dir and the link connects with them (mTLS)', async () => {
  const pki = await tmpDir('pki')
  const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', ['req', '-x509', ...EC, '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.crt'), '-days', '1', '-subj', '/CN=ui-test-ca'])
  await writeFile(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  for (const [name, cn, ext] of [['server', 'localhost', true], ['client', 'gw-client', false]] as const) {
    await run('openssl', ['req', ...EC, '-keyout', join(pki, `${name}.key`), '-out', join(pki, `${name}.csr`), '-subj', `/CN=${cn}`])
    await run('openssl', ['x509', '-req', '-in', join(pki, `${name}.csr`), '-CA', join(pki, 'ca.crt'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-out', join(pki, `${name}.crt`), '-days', '1', ...(ext ? ['-extfile', join(pki, 'san.ext')] : [])])
  }
  const cloud = await Mosquitto.start({ tls: { ca: join(pki, 'ca.crt'), cert: join(pki, 'server.crt'), key: join(pki, 'server.key'), requireCertificate: true } })
  const config = await testConfig()
  const file = join(await tmpDir('cfg-pem'), 'mecha.json')
  await writeFile(file, JSON.stringify(config))
  const rt = await spawnRuntime({ args: ['--config', file] })
  try {
    const ui = `http://127.0.0.1:${rt.addresses.ui.port}`
    const { cookie, csrf } = await firstLogin(rt.addresses.ui.port, config.dataDir)
    const pem = async (name: string): Promise<string> => await readFile(join(pki, name), 'utf8')
    const next = { ...config, cloud: { url: `mqtts://127.0.0.1:${cloud.port}`, ca: await pem('ca.crt'), cert: await pem('client.crt'), key: await pem('client.key'), forward: [{ from: 'sensors/#', to: 'gw/' }] } }
    const res = await fetch(ui + '/admin/api/config/apply', { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify(next) })
    assert.is(res.status, 200, await res.text())
    const deadline = Date.now() + 15_000
    let status = ''
    while (Date.now() < deadline && status !== 'connected' && status !== 'drained' && status !== 'draining') {
      status = ((await (await fetch(ui + '/admin/api/cloud', { headers: { cookie } })).json()) as any).status.type
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.ok(['connected', 'drained', 'draining'].includes(status), `the link connected with the pasted certificates (${status})`)
    const saved = JSON.parse(await readFile(file, 'utf8'))
    assert.is(saved.cloud.key, join(config.dataDir, 'cloud-tls', 'key.pem'), 'the config holds the path, not the key')
    assert.is((await stat(saved.cloud.key)).mode & 0o777, 0o600, 'the key file is readable by the runtime user only')
  } finally {
    await rt.stop()
    await cloud.stop()
  }
})

test.run()
