/** Mutual TLS with a CA made here by openssl; replacing the client certificate on disk reconnects with it. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { copyFile, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { MemoryStore } from '../../core/store/index.ts'
import { CloudBridge } from '../../cloud-bridge/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { CloudSubscriber, testLogger, waitFor } from './helpers.ts'

const run = promisify(execFile)
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

async function makeCa (dir: string): Promise<void> {
  await run('openssl', ['req', '-x509', ...EC, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=mecha-test-ca'])
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
}

async function issue (dir: string, name: string, cn: string, server = false): Promise<void> {
  await run('openssl', ['req', ...EC, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`])
  await run('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
    '-out', join(dir, `${name}.crt`), '-days', '1', ...(server ? ['-extfile', join(dir, 'san.ext')] : [])])
}

test.after(async () => { await cleanupTmp() })

test('cloud-bridge - mTLS: the link reconnects with a client certificate replaced on disk', async () => {
  const dir = await tmpDir('pki')
  await makeCa(dir)
  await Promise.all([issue(dir, 'server', 'localhost', true), issue(dir, 'client1', 'client-1'), issue(dir, 'client2', 'client-2')])
  const mosq = await Mosquitto.start({
    tls: { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), requireCertificate: true },
    extra: ['use_identity_as_username true'],
  })
  // The files the bridge is configured with; the test later overwrites them in place.
  const cert = join(dir, 'bridge.crt'); const key = join(dir, 'bridge.key')
  await copyFile(join(dir, 'client1.crt'), cert)
  await copyFile(join(dir, 'client1.key'), key)
  const bus = await AedesBus.create()
  const store = await MemoryStore.create()
  const tlsOpts = { ca: join(dir, 'ca.crt'), cert: join(dir, 'client2.crt'), key: join(dir, 'client2.key') }
  const cloud = await CloudSubscriber.create(mosq.url, 'gw/#', { ca: readFileSync(tlsOpts.ca), cert: readFileSync(tlsOpts.cert), key: readFileSync(tlsOpts.key), servername: 'localhost' })
  const bridge = await CloudBridge.create({
    nodeId: 'gw-tls',
    config: { url: mosq.url, ca: join(dir, 'ca.crt'), cert, key, servername: 'localhost', tlsReloadMs: 100, backoff: { minMs: 20, maxMs: 100 }, forward: [{ from: 's/#', to: 'gw/' }] },
    store, bus, log: testLogger(),
  })
  await waitFor(() => bridge.snapshot().connected, 5000, 'connected with client-1')
  await waitFor(() => /as gw-tls .*u'client-1'/.test(mosq.log), 3000, () => `mosquitto log: ${mosq.log}`)
  await bus.publish({ topic: 's/a', payload: Buffer.from('one'), qos: 1, retain: false })
  await waitFor(() => cloud.received.length === 1, 5000, 'first message')

  let connects = 0
  bridge.statusStream.on((s) => { if (s.type === 'connected') connects++ })
  await copyFile(join(dir, 'client2.crt'), cert)
  await copyFile(join(dir, 'client2.key'), key)
  await waitFor(() => connects >= 1 && /as gw-tls .*u'client-2'/.test(mosq.log), 10_000, () => `reconnect with client-2; log: ${mosq.log.slice(-600)}`)
  await bus.publish({ topic: 's/a', payload: Buffer.from('two'), qos: 1, retain: false })
  await waitFor(() => cloud.received.length === 2, 5000, 'second message')
  assert.equal(cloud.received.map((r) => r.payload.toString()), ['one', 'two'])
  await cloud.close(); await bridge.close(); await bus.close(); await store.close(); await mosq.stop()
})

test.run()
