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
import { cleanupTmp } from '../helpers/tmp.ts'

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

test.run()
