import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startRuntime } from '../helpers/runtime.ts'
import { connect, collect, closeAll } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

function value (text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? NaN : Number(line.slice(series.length + 1))
}

test('metrics - /metrics reports clients, messages by QoS, bytes, rejections, store size, memory and event-loop lag', async () => {
  const rt = await startRuntime({ mqtt: { maxPayloadBytes: 100 } })
  const url = `mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`
  const a = await connect(url, { clientId: 'm-a' }); const b = await connect(url, { clientId: 'm-b' })
  await b.subscribeAsync('t/#', { qos: 1 })
  const got = collect(b, 2)
  await a.publishAsync('t/0', 'zero', { qos: 0 })
  await a.publishAsync('t/1', 'one', { qos: 1 })
  await got
  const big = await connect(url, { clientId: 'm-big' })
  big.publish('t/big', Buffer.alloc(500), { qos: 1 })
  await new Promise<void>((resolve) => { big.once('close', () => { resolve() }) })
  const res = await fetch(`http://127.0.0.1:${rt.addresses.metrics!.port}/metrics`)
  assert.is(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', 'text/plain')
  const text = await res.text()
  assert.is(value(text, 'mecha_mqtt_clients'), 2)
  assert.is(value(text, 'mecha_mqtt_messages_in_total{qos="0"}'), 1)
  assert.is(value(text, 'mecha_mqtt_messages_in_total{qos="1"}'), 1)
  assert.is(value(text, 'mecha_mqtt_messages_out_total{qos="0"}'), 1)
  assert.is(value(text, 'mecha_mqtt_messages_out_total{qos="1"}'), 1)
  assert.is(value(text, 'mecha_mqtt_rejected_total{reason="too_large"}'), 1)
  assert.ok(value(text, 'mecha_mqtt_bytes_in_total') > 500)
  assert.ok(value(text, 'mecha_mqtt_bytes_out_total') > 0)
  assert.ok(value(text, 'mecha_store_bytes') >= 0)
  assert.ok(value(text, 'mecha_process_resident_memory_bytes') > 1e6)
  assert.ok(text.includes('mecha_nodejs_eventloop_lag_seconds'))
  assert.is((await fetch(`http://127.0.0.1:${rt.addresses.metrics!.port}/other`)).status, 404)
  await closeAll(a, b, big)
  await rt.stop()
})

test.run()
