/**
 * A publish the bus refuses before its ack — here the cloud outbox, which cannot take an entry larger than its
 * whole `maxBytes` — is a 500 ERR_PUBSUB_PUBLISH_MESSAGE and reaches nobody; in a bulk publish only the
 * refused entries fail. The cloud broker is a closed loopback port: the link never connects, so everything
 * forwarded stays in the outbox.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { MqttClient } from 'mqtt'
import type { Runtime } from '../../edge/runtime.ts'
import { startRuntime } from '../helpers/runtime.ts'
import { closeAll, connect } from '../helpers/mqtt.ts'
import { eventually, metadata } from '../helpers/runtime-view.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { freePort } from './test-app.ts'

/** The smallest outbox the config allows; an entry of a 2 KiB event cannot fit even when it is empty. */
const OUTBOX_BYTES = 1024
const BIG = 'x'.repeat(2 * OUTBOX_BYTES)

const test = suite<{ rt: Runtime; base: string; sub: MqttClient; got: Array<{ topic: string; payload: Buffer }> }>('pubsub publish refused')

test.before(async (ctx) => {
  ctx.rt = await startRuntime({
    id: 'gw-full',
    cloud: { url: `mqtt://127.0.0.1:${await freePort()}`, forward: [{ from: 'forwarded/#' }], outbox: { maxBytes: OUTBOX_BYTES, whenFull: 'reject-new' } },
  })
  ctx.base = `http://127.0.0.1:${ctx.rt.addresses.api!.port}`
  ctx.sub = await connect(`mqtt://127.0.0.1:${ctx.rt.addresses.mqtt!.port}`, { clientId: 'full-watcher' })
  ctx.got = []
  ctx.sub.on('message', (topic, payload) => { ctx.got.push({ topic, payload }) })
  await ctx.sub.subscribeAsync('forwarded/#', { qos: 1 })
})
test.after(async (ctx) => { await closeAll(ctx.sub); await ctx.rt.stop(); await cleanupTmp() })
test.before.each((ctx) => { ctx.got.length = 0 })

const post = (base: string, path: string, body: string): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })

async function settle (): Promise<void> { await new Promise((resolve) => setTimeout(resolve, 150)) }

const rejectedNew = async (rt: Runtime): Promise<number> => Number((await metadata(rt)).extended['cloud.outbox.rejectedNew'])

test('pubsub publish refused - bulk: a failing entry is reported in failedEntries (500), the others published', async ({ base, got }) => {
  const entries = [{ entryId: 'ok', event: 'fine' }, { entryId: 'bad', event: BIG }]
  const res = await post(base, '/v1.0-alpha1/publish/bulk/pubsub/forwarded/bulk', JSON.stringify(entries))
  assert.is(res.status, 500)
  const body = await res.json() as any
  assert.is(body.errorCode, 'ERR_PUBSUB_PUBLISH_MESSAGE')
  assert.equal(body.failedEntries.map((e: any) => e.entryId), ['bad'])
  await settle()
  assert.equal(got.map((m) => JSON.parse(m.payload.toString()).data), ['fine'])
})

test('pubsub publish refused - a full outbox is a 500 ERR_PUBSUB_PUBLISH_MESSAGE, nothing delivered', async ({ base, got, rt }) => {
  const before = await rejectedNew(rt)
  const res = await post(base, '/v1.0/publish/pubsub/forwarded/x', JSON.stringify({ big: BIG }))
  assert.is(res.status, 500)
  assert.is((await res.json() as any).errorCode, 'ERR_PUBSUB_PUBLISH_MESSAGE')
  // It was the outbox that refused it, and counted it (the ledger write is off the publish path).
  await eventually(async () => await rejectedNew(rt) === before + 1, 5000, 'the refusal in the ledger')
  await settle()
  assert.is(got.length, 0)
})

test.run()
