import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { spawnRuntime, ROOT, type Spawned } from '../helpers/runtime.ts'
import { firstLogin } from '../helpers/admin.ts'
import { connect, collect, closeAll } from '../helpers/mqtt.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { track } from '../helpers/children.ts'

const run = promisify(execFile)
let rt: Spawned
let dataDir: string

test.before(async () => {
  // Exactly the README's command, with every port ephemeral and the data dir in a temp dir.
  dataDir = await tmpDir('npmstart')
  rt = await spawnRuntime({
    command: ['npm', 'start', '--silent', '--'],
    env: { MECHA_MQTT_PORT: '0', MECHA_API_PORT: '0', MECHA_API_GRPC_PORT: '0', MECHA_UI_PORT: '0', MECHA_METRICS_PORT: '0', MECHA_DATA_DIR: dataDir },
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
  const sub = track(spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-t', 'plant/from-js', '-C', '1', '-W', '10', '-q', '1', '-V', 'mqttv311']), 'mosquitto_sub')
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

test('npm start - MQTT over WebSocket on the UI port at /mqtt, behind the admin login while the broker has no users', async () => {
  const wsUrl = `ws://127.0.0.1:${rt.addresses.ui.port}/mqtt`
  // No session: refused before MQTT starts (anonymous MQTT is allowed only on the loopback TCP listener).
  const refused = mqtt.connect(wsUrl, { clientId: 'ws-anon', reconnectPeriod: 0, connectTimeout: 3000 })
  const outcome = await new Promise<string>((resolve) => {
    refused.once('connect', () => { resolve('connected') })
    refused.once('error', () => { resolve('refused') })
    refused.once('close', () => { resolve('refused') })
  })
  refused.end(true)
  assert.is(outcome, 'refused')
  const { cookie } = await firstLogin(rt.addresses.ui.port, dataDir)
  const ws = await connect(wsUrl, { clientId: 'ws-1', wsOptions: { headers: { cookie } } })
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
