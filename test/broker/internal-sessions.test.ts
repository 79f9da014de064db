/**
 * The runtime's own sessions (pub/sub delivery) connect in-process through `MqttBroker.connectInternal()`;
 * the broker lets them in past `mqtt.maxClients`, so outside clients filling the broker cannot starve the
 * apps of their events. A broker-level test: the broker is built here, as the composition root builds it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqtt from 'mqtt'
import { parseConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { Metrics } from '../../core/metrics.ts'
import { LevelStore } from '../../core/store/index.ts'
import { MqttBroker } from '../../edge/broker/index.ts'
import { LevelPersistence } from '../../edge/broker/persistence/index.ts'
import { testConfig } from '../helpers/runtime.ts'
import { closeAll, connect, onceOn } from '../helpers/mqtt.ts'
import { metricValue } from '../helpers/prometheus.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'

test.after(cleanupTmp)

test('broker internal sessions - past maxClients an outside client gets CONNACK 3, the runtime\'s own session still gets in', async () => {
  const dataDir = await tmpDir('internal')
  const { config } = await parseConfig(await testConfig({ dataDir, mqtt: { maxClients: 2 } }))
  const store = await LevelStore.create({ dataDir })
  const persistence = await LevelPersistence.create(store.namespace('broker'))
  const metrics = new Metrics({ defaults: false })
  const broker = await MqttBroker.create({ config: config.mqtt, log: createLogger({ level: 'warn', pretty: false, write: () => {} }), metrics, persistence })
  const { host, port } = await broker.listen()
  const url = `mqtt://${host}:${port}`
  const clients = []
  try {
    for (let i = 0; i < 2; i++) clients.push(await connect(url, { clientId: `fill-${i}` }))
    try {
      await connect(url, { clientId: 'one-too-many' })
      assert.unreachable('the 3rd client must be refused')
    } catch (err) {
      assert.is((err as { code?: number }).code, 3)
    }
    assert.is(metricValue(await metrics.text(), 'mecha_mqtt_rejected_total', { reason: 'too_many_clients' }), 1)
    const own = new mqtt.MqttClient(() => broker.connectInternal() as any, { clientId: 'mecha-sub/app/d/x', clean: false, reconnectPeriod: 0, protocolVersion: 4 })
    const [connack] = await onceOn(own, 'connect') as [{ returnCode?: number }]
    assert.is(connack.returnCode ?? 0, 0)
    // It is a working session, not just an accepted CONNACK: it subscribes and gets what an outside client publishes.
    await own.subscribeAsync('alarms/#', { qos: 1 })
    const got = new Promise<string>((resolve) => { own.once('message', (_t, p) => { resolve(p.toString()) }) })
    await clients[0].publishAsync('alarms/door', 'open', { qos: 1 })
    assert.is(await got, 'open')
    await own.endAsync()
  } finally {
    await closeAll(...clients)
    await broker.close()
    await persistence.destroy()
    await store.close()
  }
})

test.run()
