import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnRuntime, testConfig } from '../helpers/runtime.ts'
import { connect, connectCollecting, collect, closeAll } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { cleanupEach } from '../helpers/children.ts'

cleanupEach(test)
test.after(cleanupTmp)

const N = 200

test('runtime - kill -9 with QoS 1 messages queued for an offline persistent session: all delivered after restart, in order', async () => {
  const config = await testConfig()
  let rt = await spawnRuntime({ config })
  const url = (): string => `mqtt://127.0.0.1:${rt.addresses.mqtt.port}`
  const sub = await connect(url(), { clientId: 'meter-reader', clean: false })
  await sub.subscribeAsync('meters/#', { qos: 1 })
  await closeAll(sub) // offline now; the session and its subscription stay

  const pub = await connect(url(), { clientId: 'meter' })
  // Every publish is acknowledged (PUBACK) before the next: these are the messages the broker promised to keep.
  for (let i = 0; i < N; i++) await pub.publishAsync(`meters/m${i % 4}`, `reading-${i}`, { qos: 1 })
  await pub.publishAsync('meters/last-known', 'retained-value', { qos: 1, retain: true })
  await rt.kill9() // no flush, no clean close: whatever was acknowledged must already be on disk
  await closeAll(pub)

  rt = await spawnRuntime({ config })
  // The collector is on before CONNECT: the queued messages come right behind the CONNACK, often in the same
  // socket read, and MQTT.js emits (and acknowledges) those before an `await connect()` resumes (issue 9).
  const { client: back, messages } = await connectCollecting(url(), { clientId: 'meter-reader', clean: false })
  const got = await messages.waitFor(N + 1, 15000)
  const readings = got.filter((m) => m.payload.startsWith('reading-')).map((m) => Number(m.payload.slice(8)))
  // At least once: drop duplicates the way a consumer would, then every reading must be there in order.
  const seen = new Set<number>(); const firsts: number[] = []
  for (const r of readings) if (!seen.has(r)) { seen.add(r); firsts.push(r) }
  assert.equal(firsts, Array.from({ length: N }, (_, i) => i), 'every acknowledged reading, in publish order')
  await closeAll(back)

  const fresh = await connect(url(), { clientId: 'newcomer' })
  const retained = collect(fresh, 1)
  await fresh.subscribeAsync('meters/last-known', { qos: 1 })
  const [msg] = await retained
  assert.is(msg.payload, 'retained-value')
  assert.ok(msg.retain, 'delivered as a retained message')
  await closeAll(fresh)
  await rt.stop()
})

test.run()
