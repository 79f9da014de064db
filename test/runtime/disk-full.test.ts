import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { spawnRuntime, testConfig } from '../helpers/runtime.ts'
import { connect, collect, closeAll, onceOn } from '../helpers/mqtt.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'

// A real full disk: the data dir on a 3 MiB tmpfs. Mounting needs root (CI runs as root); skipped, with the
// reason printed, where mount is not permitted.
let mnt: string | undefined
test.before(async () => {
  const dir = await tmpDir('diskfull')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'pipe' })
    mnt = dir
  } catch (err) {
    console.log(`disk-full test skipped: cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`)
  }
})
test.after(async () => {
  if (mnt !== undefined) try { execFileSync('umount', ['-l', mnt]) } catch {}
  await cleanupTmp()
})

test('runtime - a full disk rejects forwarded publishes unacknowledged, reports it, and keeps serving local traffic', async (ctx) => {
  if (mnt === undefined) { (ctx as any).skip?.(); return }
  const config = await testConfig({
    dataDir: join(mnt, 'data'),
    // A cloud that is down: everything forwarded piles up in the outbox until the disk is full.
    cloud: { url: 'mqtt://127.0.0.1:9', backoff: { minMs: 1000, maxMs: 5000 }, forward: [{ from: 'sensors/#', to: 'gw/', qos: 1 }] },
  })
  const rt = await spawnRuntime({ config })
  const url = `mqtt://127.0.0.1:${rt.addresses.mqtt.port}`
  const chunk = Buffer.alloc(200 * 1024, 7)
  let acked = 0
  let refused = false
  for (let i = 0; i < 40 && !refused; i++) {
    const pub = await connect(url, { clientId: `filler-${i}` })
    try {
      await Promise.race([
        pub.publishAsync('sensors/big', chunk, { qos: 1 }),
        onceOn(pub, 'close').then(() => { throw new Error('closed') }),
      ])
      acked++
    } catch {
      refused = true
    }
    await closeAll(pub)
  }
  assert.ok(refused, `the disk never filled (${acked} acknowledged)`)
  assert.ok(acked >= 3, `some publishes were acknowledged before the disk filled (${acked})`)

  // Still serving: health, and plain local traffic between two clients.
  assert.is((await fetch(`http://127.0.0.1:${rt.addresses.api.port}/v1.0/healthz`)).status, 204)
  const a = await connect(url, { clientId: 'local-a' }); const b = await connect(url, { clientId: 'local-b' })
  await b.subscribeAsync('local/#', { qos: 0 })
  const got = collect(b, 1)
  await a.publishAsync('local/ping', 'pong', { qos: 0 })
  assert.is((await got)[0].payload, 'pong')
  await closeAll(a, b)

  // And it says what happened, with the ledger still balanced over what was acknowledged.
  const meta = await (await fetch(`http://127.0.0.1:${rt.addresses.api.port}/v1.0/metadata`)).json() as any
  assert.ok(Number(meta.extended['cloud.outbox.writeErrors']) >= 1, JSON.stringify(meta.extended))
  assert.is(Number(meta.extended['cloud.outbox.accepted']), acked)
  assert.is(Number(meta.extended['cloud.outbox.queued']), acked)
  await rt.stop()
})

test.run()
