import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { spawnRuntime, ROOT, type Spawned } from '../helpers/runtime.ts'
import { connect, collect, closeAll } from '../helpers/mqtt.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'

const run = promisify(execFile)
let rt: Spawned

test.before(async () => {
  // Exactly the README's command, with every port ephemeral and the data dir in a temp dir.
  rt = await spawnRuntime({
    command: ['npm', 'start', '--silent', '--'],
    env: { MECHA_MQTT_PORT: '0', MECHA_API_PORT: '0', MECHA_UI_PORT: '0', MECHA_METRICS_PORT: '0', MECHA_DATA_DIR: await tmpDir('npmstart') },
    cwd: ROOT,
  })
})
test.after(async () => { if (rt !== undefined) await rt.stop(); await cleanupTmp() })

test('npm start - healthz answers 204 with the embedded defaults', async () => {
  const res = await fetch(`http://127.0.0.1:${rt.addresses.api.port}/v1.0/healthz`)
  assert.is(res.status, 204)
})

test('npm start - MQTT.js and mosquitto_pub/mosquitto_sub exchange messages through the broker', async () => {
  const port = String(rt.addresses.mqtt.port)
  const js = await connect(`mqtt://127.0.0.1:${port}`, { clientId: 'js-1' })
  await js.subscribeAsync('plant/+/temp', { qos: 1 })
  // mosquitto_sub waits for one message on a topic MQTT.js publishes to.
  const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-t', 'plant/from-js', '-C', '1', '-W', '10', '-q', '1', '-V', 'mqttv311'])
  let subOut = ''
  sub.stdout.on('data', (d: Buffer) => { subOut += d.toString() })
  const subDone = new Promise<number | null>((resolve) => sub.on('exit', resolve))
  await new Promise((r) => setTimeout(r, 500)) // let mosquitto_sub subscribe
  const fromMosquitto = collect(js, 1)
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', 'plant/boiler/temp', '-m', '71.5', '-q', '1', '-V', 'mqttv311'])
  const got = await fromMosquitto
  assert.equal(got.map((m) => [m.topic, m.payload]), [['plant/boiler/temp', '71.5']])
  await js.publishAsync('plant/from-js', 'hello mosquitto', { qos: 1 })
  assert.is(await subDone, 0, 'mosquitto_sub got its message and exited')
  assert.is(subOut.trim(), 'hello mosquitto')
  await closeAll(js)
})

test('npm start - MQTT over WebSocket on the UI port at /mqtt', async () => {
  const ws = await connect(`ws://127.0.0.1:${rt.addresses.ui.port}/mqtt`, { clientId: 'ws-1' })
  const tcp = await connect(`mqtt://127.0.0.1:${rt.addresses.mqtt.port}`, { clientId: 'tcp-1' })
  await ws.subscribeAsync('ws/test', { qos: 1 })
  const got = collect(ws, 1)
  await tcp.publishAsync('ws/test', 'over websocket', { qos: 1 })
  assert.is((await got)[0].payload, 'over websocket')
  await closeAll(ws, tcp)
})

test('npm start - SIGTERM to the process group stops the runtime cleanly within 5 s', async () => {
  const { ms } = await rt.stop('SIGTERM')
  // npm itself dies of the signal (its exit code says so); what matters is that the runtime stopped cleanly.
  assert.match(rt.output(), '"msg":"stopped"')
  assert.not.match(rt.output(), 'stop incomplete')
  assert.ok(ms < 5000, `stopped in ${ms} ms`)
})

test.run()
