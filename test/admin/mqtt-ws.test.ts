import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Duplex } from 'node:stream'
import WebSocket from 'ws'
import { cleanupTmp } from '../helpers/tmp.ts'
import { firstLogin, rig, type Rig } from './harness.ts'

const test = suite('admin mqtt-ws')
test.after(async () => { await cleanupTmp() })

/** Opens a WebSocket to /mqtt: resolves with the negotiated subprotocol, or the refusal's status. */
function open (url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket; protocol?: string; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['mqtt'], { headers, handshakeTimeout: 5000 })
    ws.once('open', () => { resolve({ ws, protocol: ws.protocol }) })
    ws.once('unexpected-response', (_req, res) => { resolve({ status: res.statusCode }); ws.terminate() })
    ws.once('error', reject)
  })
}

/** The broker stand-in echoes every byte back, so the test sees the stream reach it. */
const echo = { handle: (s: Duplex) => { s.on('data', (d: Buffer) => { s.write(d) }) } }

test('admin mqtt-ws - /mqtt upgrade is refused without a session when required, served with one', async () => {
  const r: Rig = await rig({ broker: echo, requireSessionForMqtt: true })
  try {
    const { port } = await r.ui.listen()
    const url = `ws://127.0.0.1:${port}/mqtt`
    assert.is((await open(url)).status, 401, 'no cookie')
    assert.is((await open(url, { cookie: 'mecha_session=forged' })).status, 401, 'a forged cookie')
    const l = await firstLogin(r)
    assert.is((await open(url, { cookie: l.cookie, origin: 'http://evil.example' })).status, 403, 'cross-site WebSocket')
    const ok = await open(url, { cookie: l.cookie, origin: `http://127.0.0.1:${port}` })
    assert.is(ok.protocol, 'mqtt', 'the mqtt subprotocol is answered')
    const back = new Promise<string>((resolve) => { ok.ws!.once('message', (d: Buffer) => { resolve(d.toString()) }) })
    ok.ws!.send(Buffer.from('hello'))
    assert.is(await back, 'hello')
    assert.is((await open(`ws://127.0.0.1:${port}/other`, { cookie: l.cookie })).status, 404, 'WebSocket only at /mqtt')
    ok.ws!.close()
  } finally { await r.ui.close() }
})

test('admin mqtt-ws - with broker users configured no session is needed (the broker authenticates)', async () => {
  const r = await rig({ broker: echo, requireSessionForMqtt: false })
  try {
    const { port } = await r.ui.listen()
    const ok = await open(`ws://127.0.0.1:${port}/mqtt`)
    assert.is(ok.protocol, 'mqtt')
    ok.ws!.close()
    // The admin API still needs its session over the real listener.
    const res = await fetch(`http://127.0.0.1:${port}/admin/api/status`)
    assert.is(res.status, 401)
    assert.is(((await res.json()) as { errorCode: string }).errorCode, 'MECHA_ERR_UI_SETUP_REQUIRED')
  } finally { await r.ui.close() }
})

test('admin mqtt-ws - close ends open WebSockets and SSE streams', async () => {
  const r = await rig({ broker: echo, requireSessionForMqtt: false })
  const { port } = await r.ui.listen()
  const l = await firstLogin(r)
  const ok = await open(`ws://127.0.0.1:${port}/mqtt`)
  const closed = new Promise<void>((resolve) => { ok.ws!.once('close', () => { resolve() }) })
  r.backend.statusEvents = () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<never>>(() => {}) }) })
  const ctl = new AbortController()
  const sse = await fetch(`http://127.0.0.1:${port}/admin/api/status/stream`, { headers: { cookie: l.cookie }, signal: ctl.signal })
  assert.is(sse.status, 200)
  const reading = sse.text().catch(() => 'aborted')
  const started = Date.now()
  await r.ui.close()
  await closed
  await reading
  assert.ok(Date.now() - started < 3000, 'closed promptly')
  await r.ui.close() // idempotent
})

test.run()
