/**
 * The `cloud:` section has one validator: the loader (behind `mecha check` and `mecha run`) and the bridge
 * (`resolveCloudConfig`, for a section handed over alone) run the same schema and the same cross-key checks.
 * Before, the bridge had its own and refused configs that `mecha check` had passed (issue 9, item 6).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type AddressInfo } from 'node:net'
import { parseConfig } from '../../core/config/index.ts'
import { parseCloudConfig } from '../../core/config/validate.ts'
import { isMechaError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { MemoryStore } from '../../core/store/index.ts'
import { CloudBridge, resolveCloudConfig } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'

type Problem = { path: string; message: string }

async function loaderProblems (raw: Record<string, unknown>): Promise<Problem[]> {
  try { await parseConfig(raw, { env: {} }); return [] } catch (err) {
    assert.ok(isMechaError(err, 'MECHA_ERR_CONFIG_INVALID'), String(err))
    return (err as { details: Problem[] }).details
  }
}

function sectionProblems (section: unknown): Problem[] {
  try { parseCloudConfig(section as never); return [] } catch (err) {
    assert.ok(isMechaError(err, 'MECHA_ERR_CONFIG_INVALID'), String(err))
    return (err as { details: Problem[] }).details
  }
}

const URL = 'mqtt://127.0.0.1:1'

test('config - cloud.backoff.minMs above maxMs is refused at its path', async () => {
  const list = await loaderProblems({ cloud: { url: URL, backoff: { minMs: 5000, maxMs: 1000 } } })
  assert.equal(list, [{ path: 'cloud.backoff.minMs', message: 'must be at most cloud.backoff.maxMs (1000), is 5000' }])
  // Against the default maxMs (60000) too: the user wrote only minMs, so that is the path named.
  assert.equal((await loaderProblems({ cloud: { url: URL, backoff: { minMs: 120_000 } } })).map((p) => p.path), ['cloud.backoff.minMs'])
  assert.equal(await loaderProblems({ cloud: { url: URL, backoff: { minMs: 1000, maxMs: 1000 } } }), [], 'equal bounds are a fixed delay, allowed')
})

test('config - cloud.cert without cloud.key (and the reverse) is refused at the missing key\'s path', async () => {
  assert.equal((await loaderProblems({ cloud: { url: URL, cert: '/etc/mecha/c.pem' } })).map((p) => p.path), ['cloud.key'])
  assert.equal((await loaderProblems({ cloud: { url: URL, key: '/etc/mecha/k.pem' } })).map((p) => p.path), ['cloud.cert'])
  assert.equal(await loaderProblems({ cloud: { url: URL, cert: '/c.pem', key: '/k.pem' } }), [])
})

test('config - cloud.stateSync.store must name a state store of this config', async () => {
  const list = await loaderProblems({ cloud: { url: URL, stateSync: { store: 'nope' } } })
  assert.equal(list, [{ path: 'cloud.stateSync.store', message: 'no state store "nope" (known: statestore)' }])
  const component = { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'shadow' }, spec: { type: 'state.level', version: 'v1' } }
  assert.equal(await loaderProblems({ components: [component], cloud: { url: URL, stateSync: { store: 'shadow' } } }), [])
  assert.equal(await loaderProblems({ cloud: { url: URL, stateSync: {} } }), [], 'the default, the built-in statestore')
})

test('config - every cloud problem is listed with the others, not one at a time', async () => {
  const list = await loaderProblems({ mqtt: { port: -1 }, cloud: { url: URL, cert: '/c.pem', backoff: { minMs: 10, maxMs: 5 }, inflight: 0 } })
  assert.equal(list.map((p) => p.path).sort(), ['cloud.backoff.minMs', 'cloud.inflight', 'cloud.key', 'mqtt.port'])
})

test('config - the loader and the bridge\'s resolver report the same problems for a cloud section', async () => {
  const sections: unknown[] = [
    { url: URL, backoff: { minMs: 5000, maxMs: 1000 } },
    { url: URL, cert: '/c.pem' },
    { url: URL, key: '/k.pem', backoff: { minMs: 0 } },
    { url: 'http://x' },
    { url: URL, nope: 1 },
    { url: URL, outbox: { maxBytes: 2048, extra: true } },
    { url: URL, forward: [{ from: 'a', priority: 12 }] },
    { url: URL, protocolVersion: 3 },
    { forward: [] },
  ]
  for (const s of sections) {
    const viaLoader = await loaderProblems({ cloud: s })
    assert.ok(viaLoader.length > 0, JSON.stringify(s))
    assert.equal(sectionProblems(s), viaLoader, JSON.stringify(s))
  }
})

test('config - a cloud section that passed parsing resolves unchanged, without a second opinion', async () => {
  const good: Array<Record<string, unknown>> = [
    { url: URL },
    { url: URL, backoff: { minMs: 1000, maxMs: 1000 }, protocolVersion: 4, envelope: 'json' },
    { url: 'mqtts://cloud.example:8883', cert: '/c.pem', key: '/k.pem', ca: '/ca.pem', fallbackUrls: ['wss://b.example/mqtt'] },
    { url: URL, forward: [{ from: 'sensors/#', to: 'gw/{id}/', batch: {} }], receive: [{ from: 'gw/{id}/cmd/#', to: 'cmd/' }], stateSync: {} },
  ]
  for (const section of good) {
    const { config } = await parseConfig({ cloud: section }, { env: {} })
    const again = resolveCloudConfig(config.cloud!)
    assert.equal(again, config.cloud, JSON.stringify(section))
    assert.ok(Object.isFrozen(again) && Object.isFrozen(again.backoff))
    assert.equal(parseCloudConfig(section as never), config.cloud, 'a section alone gets the same defaults')
  }
  const input = { url: URL, backoff: { minMs: 10 } }
  parseCloudConfig(input)
  assert.equal(input, { url: URL, backoff: { minMs: 10 } }, 'the input is not mutated')
})

test('config - a bridge given a parsed config starts without a config error of its own', async () => {
  // A port that refuses connections: the bridge starts, fails to connect and waits in backoff; no cloud needed.
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  const bus = await AedesBus.create()
  const log = createLogger({ level: 'silent', pretty: false })
  try {
    for (const section of [
      { url: `mqtt://127.0.0.1:${port}`, backoff: { minMs: 1000, maxMs: 1000 } },
      { url: `mqtt://127.0.0.1:${port}`, protocolVersion: 4, envelope: 'cbor', forward: [{ from: 'a/#', batch: { maxMessages: 2 } }], receive: [{ from: 'c/#' }] },
    ]) {
      const { config } = await parseConfig({ id: 'gw-cfg', cloud: section }, { env: {} })
      const store = await MemoryStore.create()
      let bridge: CloudBridge | undefined
      try {
        bridge = await CloudBridge.create({ nodeId: config.id, config: config.cloud!, store, bus, log, delay: () => 60_000 })
        assert.equal(bridge.config, config.cloud)
      } catch (err) {
        assert.unreachable(`${JSON.stringify(section)}: ${(err as Error).message}`)
      } finally {
        await bridge?.close()
        await store.close()
      }
    }
  } finally {
    await bus.close()
  }
})

test.run()
