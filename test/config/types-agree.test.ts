/**
 * The config's TypeScript types and its schema name the same keys, section by section: each `KEYS_*` table
 * below is a `Record<keyof T, true>`, so the compiler rejects it when a type gains or loses a key the table
 * does not (tsc runs on the tests), and the test rejects it when the schema's keys differ from the table.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { AclRule, AppConfig, MechaConfig, MqttConfig } from '../../core/config/index.ts'
import type { CloudConfig, ForwardRule, OutboxConfig, ReceiveRule } from '../../core/config/cloud-schema.ts'
import type { AppHealthConfig, MemoryConfig, UiConfig, UiSessionConfig } from '../../core/config/types.ts'
import { configSchema } from '../../core/config/schema.ts'
import { parseConfig } from '../../core/config/index.ts'

type Keys<T> = Record<keyof T, true>

const KEYS_TOP: Keys<MechaConfig> = { id: true, dataDir: true, componentsDir: true, log: true, store: true, memory: true, mqtt: true, api: true, state: true, ui: true, metrics: true, cloud: true, components: true, subscriptions: true, apps: true }
const KEYS_MQTT: Keys<MqttConfig> = { host: true, port: true, maxPayloadBytes: true, maxClients: true, maxInflight: true, connectTimeoutMs: true, sessionExpirySeconds: true, users: true, acl: true }
const KEYS_ACL: Keys<AclRule> = { user: true, clientId: true, topic: true, access: true, allow: true }
const KEYS_API: Keys<MechaConfig['api']> = { host: true, port: true, token: true, maxBodyBytes: true, grpc: true, grpcPort: true, grpcMaxMessageBytes: true }
const KEYS_UI: Keys<UiConfig> = { host: true, port: true, enabled: true, tls: true, session: true }
const KEYS_SESSION: Keys<UiSessionConfig> = { idleTimeoutSeconds: true, maxAgeSeconds: true }
const KEYS_METRICS: Keys<MechaConfig['metrics']> = { host: true, port: true, enabled: true }
const KEYS_STATE: Keys<MechaConfig['state']> = { maxValueBytes: true }
const KEYS_STORE: Keys<MechaConfig['store']> = { durability: true }
const KEYS_MEMORY: Keys<MemoryConfig> = { maxHeapMiB: true, compactWhenIdle: true }
const KEYS_LOG: Keys<MechaConfig['log']> = { level: true, pretty: true }
const KEYS_APP: Keys<AppConfig> = { id: true, command: true, args: true, cwd: true, env: true, appPort: true, appHost: true, appProtocol: true, restart: true, healthPath: true, dependsOn: true, backoff: true, crashLoop: true, health: true, stopGraceMs: true, logs: true, invoke: true }
const KEYS_HEALTH: Keys<AppHealthConfig> = { path: true, intervalMs: true, timeoutMs: true, threshold: true, restartAfter: true }
const KEYS_CLOUD: Keys<CloudConfig> = { url: true, fallbackUrls: true, protocolVersion: true, clientId: true, username: true, password: true, ca: true, cert: true, key: true, servername: true, rejectUnauthorized: true, tlsReloadMs: true, keepalive: true, connectTimeoutMs: true, cleanStart: true, backoff: true, inflight: true, forward: true, receive: true, outbox: true, envelope: true, statusTopic: true, rejectedTopic: true, stateSync: true }
const KEYS_FORWARD: Keys<ForwardRule> = { from: true, to: true, qos: true, retain: true, priority: true, ttlSeconds: true, queueQos0: true, batch: true }
const KEYS_RECEIVE: Keys<ReceiveRule> = { from: true, to: true, qos: true }
const KEYS_OUTBOX: Keys<OutboxConfig> = { maxBytes: true, maxMessages: true, whenFull: true, durability: true }

function prop (schema: any, key: string): any {
  const p = schema.properties?.[key]
  if (p === undefined) throw new Error(`schema has no ${key}`)
  return p
}
const keysOf = (schema: any): string[] => Object.keys(schema.properties ?? schema.items?.properties ?? {}).sort()
const tableKeys = (t: object): string[] => Object.keys(t).sort()

test('config types - every section of the schema names the keys its TypeScript type names', () => {
  const pairs: Array<[string, any, object]> = [
    ['(top)', configSchema, KEYS_TOP],
    ['mqtt', prop(configSchema, 'mqtt'), KEYS_MQTT],
    ['mqtt.acl[]', prop(prop(configSchema, 'mqtt'), 'acl'), KEYS_ACL],
    ['api', prop(configSchema, 'api'), KEYS_API],
    ['ui', prop(configSchema, 'ui'), KEYS_UI],
    ['ui.session', prop(prop(configSchema, 'ui'), 'session'), KEYS_SESSION],
    ['metrics', prop(configSchema, 'metrics'), KEYS_METRICS],
    ['state', prop(configSchema, 'state'), KEYS_STATE],
    ['store', prop(configSchema, 'store'), KEYS_STORE],
    ['memory', prop(configSchema, 'memory'), KEYS_MEMORY],
    ['log', prop(configSchema, 'log'), KEYS_LOG],
    ['apps[]', prop(configSchema, 'apps'), KEYS_APP],
    ['apps[].health', prop(prop(configSchema, 'apps').items, 'health'), KEYS_HEALTH],
    ['cloud', prop(configSchema, 'cloud'), KEYS_CLOUD],
    ['cloud.forward[]', prop(prop(configSchema, 'cloud'), 'forward'), KEYS_FORWARD],
    ['cloud.receive[]', prop(prop(configSchema, 'cloud'), 'receive'), KEYS_RECEIVE],
    ['cloud.outbox', prop(prop(configSchema, 'cloud'), 'outbox'), KEYS_OUTBOX],
  ]
  for (const [where, schema, table] of pairs) assert.equal(keysOf(schema), tableKeys(table), `${where}: schema keys vs type keys`)
})

test('config types - the parsed defaults carry every key the schema defaults, with the documented values', async () => {
  const { config } = await parseConfig({ id: 'gw-types' })
  // Spot checks of DESIGN.md's defaults table against what the one schema produces.
  assert.is(config.mqtt.host, '127.0.0.1'); assert.is(config.mqtt.port, 1883)
  assert.is(config.api.port, 3500); assert.is(config.api.grpcPort, 50001)
  assert.is(config.ui.port, 8080); assert.is(config.metrics.port, 9090)
  assert.is(config.dataDir, './data'); assert.is(config.store.durability, 'process')
  assert.is(config.memory.maxHeapMiB, undefined); assert.is(config.memory.compactWhenIdle, true)
  for (const key of Object.keys(KEYS_MQTT)) if (key !== 'users' && key !== 'acl') assert.ok(key in config.mqtt, `mqtt.${key} has a default`)
})

test.run()
