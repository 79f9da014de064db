import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startRuntime } from '../helpers/runtime.ts'
import { connect, collect, closeAll } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

test('broker - interleaved QoS 0/1/2 publishes all reach a live subscriber (none lost to reordered stores)', async () => {
  const rt = await startRuntime()
  const url = `mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`
  const sub = await connect(url, { clientId: 'live' }); const persistent = await connect(url, { clientId: 'durable', clean: false })
  const pub = await connect(url, { clientId: 'mixed' })
  await sub.subscribeAsync('mix/#', { qos: 2 }); await persistent.subscribeAsync('mix/#', { qos: 2 })
  const N = 300
  const a = collect(sub, N); const b = collect(persistent, N)
  // Not awaited one by one: they reach the broker in the same socket reads, as a busy sensor's would.
  await Promise.all(Array.from({ length: N }, (_, i) => pub.publishAsync(`mix/${i % 3}`, String(i), { qos: (i % 3) as 0 | 1 | 2 })))
  for (const got of [await a, await b]) assert.equal(got.map((m) => Number(m.payload)).sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i))
  await closeAll(sub, persistent, pub)
  await rt.stop()
})

test('broker - a client with overlapping subscriptions gets each message once', async () => {
  const rt = await startRuntime()
  const url = `mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`
  const sub = await connect(url, { clientId: 'overlap', clean: false })
  await sub.subscribeAsync({ 'site/#': { qos: 1 }, 'site/+/temp': { qos: 1 }, 'site/a/temp': { qos: 0 } })
  const pub = await connect(url, { clientId: 'p' })
  const got: string[] = []
  sub.on('message', (_t, p) => { got.push(p.toString()) })
  for (let i = 0; i < 20; i++) await pub.publishAsync('site/a/temp', `t${i}`, { qos: 1 })
  await pub.publishAsync('site/end', 'end', { qos: 1 })
  for (let i = 0; i < 100 && !got.includes('end'); i++) await new Promise((r) => setTimeout(r, 20))
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(got, [...Array.from({ length: 20 }, (_, i) => `t${i}`), 'end'])
  await closeAll(sub, pub)
  await rt.stop()
})

test.run()
