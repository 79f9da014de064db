import { once } from 'node:events'
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import mqttPacket from 'mqtt-packet'
import { coalesceWrites } from '../../edge/broker/write-coalescing.ts'

/** A loopback TCP pair: `ours` is the broker's side (coalesced), `peer` parses what arrives. */
async function pair (): Promise<{ ours: Socket; peer: Socket; server: Server; received: () => any[]; writes: () => number; bytes: () => number }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection')
  const peer = createConnection((server.address() as AddressInfo).port, '127.0.0.1')
  const [ours] = await accepted as [Socket]
  await once(peer, 'connect').catch(() => {})
  // Socket writes reach the kernel through _writev (several buffers) or _write (one): count both.
  let writes = 0
  let bytes = 0
  const s = ours as unknown as { _writev: (chunks: Array<{ chunk: Buffer }>, cb: unknown) => unknown; _write: (chunk: Buffer, enc: unknown, cb: unknown) => unknown }
  const writev = s._writev.bind(ours); const write = s._write.bind(ours)
  s._writev = (chunks, cb) => { writes++; for (const c of chunks) bytes += c.chunk.length; return writev(chunks, cb) }
  s._write = (chunk, enc, cb) => { writes++; bytes += chunk.length; return write(chunk, enc, cb) }
  coalesceWrites(ours)
  const packets: any[] = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (p) => { packets.push(p) })
  peer.on('data', (b) => { parser.parse(b) })
  return { ours, peer, server, received: () => packets, writes: () => writes, bytes: () => bytes }
}

async function until (cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10))
}

test('write coalescing - packets written in separate immediates of one turn leave in one socket write, in order', async () => {
  const { ours, peer, server, received, writes } = await pair()
  // As aedes delivers: each packet in its own setImmediate (mqtt-packet corks and uncorks on the next tick).
  for (let i = 1; i <= 5; i++) setImmediate(() => { mqttPacket.writeToStream({ cmd: 'puback', messageId: i }, ours) })
  await until(() => received().length === 5)
  assert.equal(received().map((p) => p.messageId), [1, 2, 3, 4, 5])
  assert.is(writes(), 1)
  peer.destroy(); ours.destroy(); server.close()
})

test('write coalescing - at most 32 packets wait per socket: 80 packets leave in 3 writes, in order', async () => {
  const { ours, peer, server, received, writes } = await pair()
  try {
    // Held in groups, the first PUBACKs of a batch reach the publisher while the broker still writes the rest.
    for (let i = 1; i <= 80; i++) setImmediate(() => { mqttPacket.writeToStream({ cmd: 'puback', messageId: i }, ours) })
    await until(() => received().length === 80)
    assert.equal(received().map((p) => p.messageId), Array.from({ length: 80 }, (_, i) => i + 1))
    assert.is(writes(), 3)
  } finally {
    peer.destroy(); ours.destroy(); server.close()
  }
})

test('write coalescing - what was written before destroy() still goes out (a refusing CONNACK)', async () => {
  const { ours, peer, server, received } = await pair()
  // aedes writes the CONNACK, then closes the connection in a later immediate: before our flush would run.
  mqttPacket.writeToStream({ cmd: 'connack', returnCode: 2, sessionPresent: false }, ours)
  setImmediate(() => { ours.destroy() })
  await until(() => received().length === 1)
  assert.equal(received().map((p) => [p.cmd, p.returnCode]), [['connack', 2]])
  peer.destroy(); server.close()
})

test.run()
