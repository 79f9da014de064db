import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig, parseConfig, ENV_NAMES } from '../../core/config/index.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

async function problems (raw: unknown, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try { await parseConfig(raw, { env }); return [] } catch (err) {
    return ((err as { details: Array<{ path: string; message: string }> }).details).map((p) => `${p.path}: ${p.message}`)
  }
}

test('config - the defaults are DESIGN.md\'s', async () => {
  const { config } = await parseConfig({})
  assert.equal([config.mqtt.host, config.mqtt.port, config.mqtt.maxPayloadBytes], ['127.0.0.1', 1883, 262144])
  assert.equal([config.api.host, config.api.port], ['127.0.0.1', 3500])
  assert.equal([config.ui.host, config.ui.port], ['127.0.0.1', 8080])
  assert.equal([config.metrics.host, config.metrics.port], ['127.0.0.1', 9090])
  assert.is(config.dataDir, './data')
  assert.is(config.store.durability, 'process')
  assert.is(config.cloud, undefined)
})

test('config - the result is frozen and the input is not mutated', async () => {
  const raw = { mqtt: { port: 1884 } }
  const { config } = await parseConfig(raw)
  assert.equal(raw, { mqtt: { port: 1884 } })
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.mqtt) && Object.isFrozen(config.components))
  assert.throws(() => { (config.mqtt as { port: number }).port = 1 })
})

test('config - MECHA_* overrides the file, DAPR_API_TOKEN sets the token, bad env values are reported by name path', async () => {
  const { config, env } = await parseConfig({ mqtt: { port: 1884 } }, { env: { MECHA_MQTT_PORT: '2883', MECHA_LOG_LEVEL: 'debug', DAPR_API_TOKEN: 's3cret', MECHA_UI_ENABLED: 'false' } })
  assert.is(config.mqtt.port, 2883)
  assert.is(config.log.level, 'debug')
  assert.is(config.api.token, 's3cret')
  assert.is(config.ui.enabled, false)
  assert.ok(env.includes('MECHA_MQTT_PORT'))
  assert.equal(await problems({}, { MECHA_API_PORT: 'abc' }), ['api.port: must be an integer 0-65535 (0 picks a free port)'])
  assert.ok(ENV_NAMES.includes('MECHA_MQTT_MAX_PAYLOAD_BYTES'))
})

test('config - contradictions: clashing ports, a LAN broker without users, unknown pubsub in a subscription', async () => {
  const list = await problems({
    api: { port: 9090 },
    mqtt: { host: '192.0.2.10' },
    subscriptions: [{ apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 's' }, spec: { pubsubname: 'nope', topic: 't', routes: { default: '/t' } } }],
  })
  assert.ok(list.includes('metrics.port: 9090 is already used by api.port'), list.join('\n'))
  assert.ok(list.some((p) => p.startsWith('mqtt.users: required when mqtt.host (192.0.2.10) is not loopback')))
  assert.ok(list.includes('subscriptions[0].spec.pubsubname: no pub/sub component "nope" (known: pubsub)'))
})

test('config - the WebSocket listener on a LAN UI port also needs users', async () => {
  const list = await problems({ ui: { host: '0.0.0.0' } })
  assert.ok(list.some((p) => p.startsWith('mqtt.users: required when ui.host (0.0.0.0) is not loopback')), list.join('\n'))
  assert.equal(await problems({ ui: { host: '0.0.0.0', enabled: false } }), [])
})

test('config - plain passwords are refused; users need scrypt hashes', async () => {
  const list = await problems({ mqtt: { users: [{ username: 'a', password: 'plaintext' }] } })
  assert.equal(list, ['mqtt.users[0].password: must be a hash made by `mecha passwd` (scrypt$…), never a plain password'])
})

test('config - YAML and JSON files load; ./mecha.yaml is found in the working dir', async () => {
  const dir = await tmpDir('cfg')
  await writeFile(join(dir, 'mecha.yaml'), 'id: from-yaml\nmqtt:\n  port: 1999\n')
  const a = await loadConfig({ cwd: dir, env: {} })
  assert.is(a.config.id, 'from-yaml')
  assert.is(a.file, join(dir, 'mecha.yaml'))
  await writeFile(join(dir, 'other.json'), JSON.stringify({ id: 'from-json' }))
  const b = await loadConfig({ cwd: dir, file: 'other.json', env: {} })
  assert.is(b.config.id, 'from-json')
})

test.run()
