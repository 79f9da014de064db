import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startRuntime } from '../helpers/runtime.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { closeAll, connect, connectCollecting } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

// A cloud link that exists is changed, then removed, by hot reloads while a publisher keeps sending QoS 1 on a
// forwarded topic: each reload ends (the closing bridge's own status publish is not held behind the swap),
// every message acked before the removal reaches the cloud exactly under the rule in force when it was
// acked, and after the removal nothing more goes up.
test('reload cloud - an existing link changed then removed under QoS 1 load: both reloads end, nothing acked is lost', async () => {
  const cloud = await Mosquitto.start()
  const rt = await startRuntime({ id: 'gw-rc', cloud: { url: cloud.url, forward: [{ from: 'fwd/#', to: 'v1/', qos: 1 }], backoff: { minMs: 50, maxMs: 500 } } })
  const local = `mqtt://127.0.0.1:${rt.addresses.mqtt!.port}`
  const { client: reader, messages } = await connectCollecting(cloud.url, { clientId: 'cloud-reader', clean: true })
  const pub = await connect(local, { clientId: 'sensor' })
  try {
    await reader.subscribeAsync(['v1/#', 'v2/#'], { qos: 1 })
    let n = 0
    let stop = false
    const acked: number[] = []
    const sending = (async () => {
      while (!stop && n < 5000) { const i = n++; await pub.publishAsync('fwd/t', String(i), { qos: 1 }); acked.push(i) }
    })()
    await new Promise((resolve) => setTimeout(resolve, 300))

    const changed = await rt.reconfigure({ ...rt.config, cloud: { ...rt.config.cloud!, forward: [{ ...rt.config.cloud!.forward[0]!, to: 'v2/' }] } })
    assert.ok(changed.changes.includes('cloud link changed'), changed.changes.join(', '))
    await new Promise((resolve) => setTimeout(resolve, 300))
    stop = true
    await sending
    const sent = acked.length
    assert.ok(sent > 10, `the publisher ran through the reload (${sent} acked)`)
    // At least once: a reconnect may resend what was in flight, so wait for every distinct message.
    const seen = new Set<string>()
    await messages.until((m) => { seen.add(m.payload); return seen.size >= sent }, 20_000, () => `${seen.size} of ${sent} distinct messages at the cloud`)
    const got = messages.messages.map((m) => Number(m.payload))
    assert.equal([...new Set(got)].sort((a, b) => a - b), acked, 'every acked message reached the cloud')
    assert.ok(messages.messages.some((m) => m.topic === 'v2/t'), 'the new rule forwards')
    // Per rule in force: once the new prefix appears, the old one does not come back (order per topic).
    const firstV2 = messages.messages.findIndex((m) => m.topic === 'v2/t')
    assert.ok(messages.messages.slice(firstV2).every((m) => m.topic === 'v2/t'), 'no old-rule message after the new rule took over')

    const removed = await rt.reconfigure({ ...rt.config, cloud: undefined })
    assert.ok(removed.changes.includes('cloud link removed'), removed.changes.join(', '))
    const before = messages.messages.length
    await pub.publishAsync('fwd/t', 'after-removal', { qos: 1 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.is(messages.messages.length, before, 'no link, nothing goes up')
  } finally {
    await closeAll(pub, reader)
    await rt.stop()
    await cloud.stop()
    await cleanupTmp()
  }
})

test.run()
