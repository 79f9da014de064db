/**
 * Hot reload under load, through the real process: the config file is edited while a persistent MQTT
 * subscriber receives a stream of QoS 1 messages. Nothing connected is dropped, nothing queued is lost, the
 * new parts work, an invalid edit is refused and the old config keeps running, and a listen-port change is
 * reported as needing a restart.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { spawnRuntime, testConfig, type Spawned } from '../helpers/runtime.ts'
import { closeAll } from '../helpers/mqtt.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'

test.after(cleanupTmp)

async function until (cond: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Log records (JSON lines) the runtime printed with this message. */
function records (rt: Spawned, msg: string): Array<Record<string, any>> {
  return rt.output().split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Record<string, any>)
}

test('runtime - hot reload under load: no client dropped, no message lost, new rule forwards, bad edit refused', async () => {
  const cloud = await Mosquitto.start()
  const dir = await tmpDir('reload')
  const file = join(dir, 'mecha.json')
  const base = await testConfig({
    apps: [{ id: 'sleeper', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], restart: 'always' }],
  })
  await writeFile(file, JSON.stringify(base, null, 2))
  const rt = await spawnRuntime({ args: ['--config', file] })
  const url = `mqtt://127.0.0.1:${rt.addresses.mqtt.port}`
  const api = `http://127.0.0.1:${rt.addresses.api.port}`
  const received = new Set<number>()
  let disconnects = 0
  const sub = mqtt.connect(url, { clientId: 'reload-sub', clean: false, reconnectPeriod: 0 })
  sub.on('message', (_t, p) => { received.add(Number(p.toString())) })
  sub.on('close', () => { disconnects++ })
  const cloudSub = mqtt.connect(cloud.url, { clientId: 'cloud-reader', reconnectPeriod: 0 })
  const forwarded: string[] = []
  cloudSub.on('message', (t, p) => { forwarded.push(`${t}=${p.toString()}`) })
  const pub = mqtt.connect(url, { clientId: 'reload-pub', reconnectPeriod: 0 })
  try {
    await Promise.all([sub, cloudSub, pub].map((c) => new Promise<void>((resolve) => { c.once('connect', () => { resolve() }) })))
    await sub.subscribeAsync('load/#', { qos: 1 })
    await cloudSub.subscribeAsync('gw/#', { qos: 1 })
    await until(async () => (await (await fetch(`${api}/v1.0/metadata`)).json() as any).extended['app.sleeper']?.startsWith('running'), 15_000, () => 'the app to run')

    const N = 1000
    // The load runs while the file changes: 1,000 QoS 1 messages, a few in flight at a time.
    const load = (async () => {
      for (let i = 0; i < N; i++) {
        await pub.publishAsync(`load/${i % 5}`, String(i), { qos: 1 })
        if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()

    // Edit 1: a forward rule to the cloud, a new state store, the app removed.
    const next: Record<string, any> = { ...base, apps: [], cloud: { url: cloud.url, forward: [{ from: 'fwd/#', to: 'gw/', qos: 1 }], backoff: { minMs: 50, maxMs: 500 } }, components: [{ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'cache' }, spec: { type: 'state.level', version: 'v1', metadata: [] } }] }
    await writeFile(file, JSON.stringify(next, null, 2))
    await until(() => records(rt, 'reloaded').length >= 1, 15_000, () => `a reload in the log:\n${rt.output().slice(-2000)}`)
    const reloaded = records(rt, 'reloaded')[0]
    assert.ok(reloaded.changes.includes('app sleeper removed'), JSON.stringify(reloaded.changes))
    assert.ok(reloaded.changes.includes('cloud link added'))
    assert.ok(reloaded.changes.includes('state store cache added'))
    assert.equal(reloaded.restartRequired, [])
    console.log(`reload took ${reloaded.ms} ms: ${reloaded.changes.join('; ')}`)

    await load
    await until(() => received.size >= N, 20_000, () => `subscriber got ${received.size} of ${N}`)
    assert.is(disconnects, 0, 'the persistent subscriber stayed connected')

    // The new parts work: the forward rule reaches the real cloud broker, the new store answers.
    await pub.publishAsync('fwd/t1', 'hello-cloud', { qos: 1 })
    await until(() => forwarded.includes('gw/t1=hello-cloud'), 15_000, () => `forwarded: ${forwarded.join(', ')}`)
    const save = await fetch(`${api}/v1.0/state/cache`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'k', value: 1 }]) })
    assert.is(save.status, 204)
    const meta = await (await fetch(`${api}/v1.0/metadata`)).json() as any
    assert.is(meta.extended['app.sleeper'], undefined, 'the removed app is gone')

    // Edit 2: invalid. Refused with its problems and their paths; the running config stays.
    await writeFile(file, JSON.stringify({ ...next, mqtt: { ...next.mqtt, maxPayloadBytes: -5 }, bogus: true }, null, 2))
    await until(() => records(rt, 'reload refused: the config has problems; the running config stays').length >= 1, 15_000, () => 'a refusal in the log')
    const refused = records(rt, 'reload refused: the config has problems; the running config stays')[0]
    const paths = refused.problems.map((p: { path: string }) => p.path)
    assert.ok(paths.includes('mqtt.maxPayloadBytes'), JSON.stringify(paths))
    assert.ok(paths.some((p: string) => p.includes('bogus')), JSON.stringify(paths))
    assert.is((await fetch(`${api}/v1.0/state/cache/k`)).status, 200, 'the old config keeps running')

    // Edit 3: a listen port: reported as needing a restart, not applied.
    await writeFile(file, JSON.stringify({ ...next, api: { ...next.api, port: 1 } }, null, 2))
    await until(() => records(rt, 'reloaded').length + records(rt, 'reload: nothing changed').length >= 2, 15_000, () => 'a second reload')
    const last = [...records(rt, 'reloaded'), ...records(rt, 'reload: nothing changed')].pop()!
    assert.equal(last.restartRequired, ['api.port'])
    assert.is((await fetch(`${api}/v1.0/healthz`)).status, 204, 'the API still listens where it did')

    // SIGHUP reloads instead of ending the runtime (exit 129 before).
    process.kill(rt.proc.pid!, 'SIGHUP')
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.is(rt.proc.exitCode, null, 'SIGHUP did not end the runtime')
    assert.is(disconnects, 0)
  } finally {
    await closeAll(sub, cloudSub, pub)
    await rt.stop()
    await cloud.stop()
  }
})

test.run()
