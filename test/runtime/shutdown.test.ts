import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { spawnRuntime, testConfig } from '../helpers/runtime.ts'
import { connect, closeAll } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../helpers/runtime.ts'
import { cleanupEach, track } from '../helpers/children.ts'

cleanupEach(test)
test.after(cleanupTmp)

function portIsFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => { resolve(false) })
    s.listen(port, '127.0.0.1', () => { s.close(() => { resolve(true) }) })
  })
}

test('runtime - SIGTERM with clients connected releases the ports and the DB lock within 5 s', async () => {
  const config = await testConfig()
  const rt = await spawnRuntime({ config })
  const client = await connect(`mqtt://127.0.0.1:${rt.addresses.mqtt.port}`, { clientId: 'stay', clean: false })
  await client.subscribeAsync('x/#', { qos: 1 })
  const { code, ms } = await rt.stop('SIGTERM')
  assert.is(code, 0)
  assert.ok(ms < 5000, `stopped in ${ms} ms`)
  for (const k of ['mqtt', 'api', 'ui', 'metrics']) assert.ok(await portIsFree(rt.addresses[k].port), `${k} port released`)
  await closeAll(client)
  // The lock is gone: the same data dir opens again at once, with the session kept.
  const again = await spawnRuntime({ config })
  const back = await connect(`mqtt://127.0.0.1:${again.addresses.mqtt.port}`, { clientId: 'stay', clean: false })
  assert.ok(back.connected)
  await closeAll(back)
  assert.is((await again.stop('SIGINT')).code, 0, 'SIGINT stops it too')
})

test('runtime - a second instance on the same data dir is refused with a clear message and changes nothing', async () => {
  const config = await testConfig()
  const first = await spawnRuntime({ config })
  const second = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), 'run', '--data-dir', config.dataDir], {
    cwd: ROOT,
    env: { ...process.env, MECHA_MQTT_PORT: '0', MECHA_API_PORT: '0', MECHA_API_GRPC_PORT: '0', MECHA_UI_PORT: '0', MECHA_METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(second, 'second runtime')
  let out = ''
  second.stderr.on('data', (d: Buffer) => { out += d.toString() })
  second.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve) => second.on('exit', resolve))
  assert.is(code, 1)
  assert.match(out, `locked by pid ${first.proc.pid}`)
  assert.match(out, 'MECHA_ERR_DATA_DIR_LOCKED')
  const res = await fetch(`http://127.0.0.1:${first.addresses.api.port}/v1.0/healthz`)
  assert.is(res.status, 204, 'the first instance keeps serving')
  assert.is((await first.stop()).code, 0)
})

test.run()
