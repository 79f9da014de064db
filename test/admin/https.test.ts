import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { X509Certificate } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { connect, type PeerCertificate } from 'node:tls'
import { join } from 'node:path'
import { makeSelfSigned } from '../../edge/admin/tls/self-signed.ts'
import { selfSignedPaths } from '../../edge/admin/tls/ui-tls.ts'
import { isMechaError } from '../../core/errors.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { PASSWORD, rig, type Rig } from './harness.ts'

const test = suite('admin https')
test.after(async () => { await cleanupTmp() })

function peerCert (port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => { resolve(s.getPeerCertificate()); s.end() })
    s.once('error', reject)
    s.setTimeout(5000, () => { s.destroy(new Error('tls timeout')) })
  })
}

/** A request that verifies the server against `ca` (the self-signed certificate itself) and the name `localhost`. */
function httpsCall (port: number, ca: string, path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca, servername: 'localhost', headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, timeout: 5000 }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode!, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }) })
    })
    req.once('error', reject)
    req.once('timeout', () => { req.destroy(new Error('https timeout')) })
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

test('admin https - selfSigned: a listener over TLS with a certificate for localhost/127.0.0.1, reused on restart', async () => {
  const dataDir = await tmpDir('mecha-https')
  let r: Rig | undefined = await rig({ dataDir, tls: { selfSigned: true, altNames: ['gw-01.lan'] } })
  try {
    const { port } = await r.ui.listen()
    const cert = await peerCert(port)
    assert.is(cert.subject.CN, '127.0.0.1')
    assert.is(cert.subject.O, 'Mecha')
    for (const n of ['DNS:localhost', 'IP Address:127.0.0.1', 'DNS:gw-01.lan']) assert.ok((cert.subjectaltname ?? '').includes(n), `${n} in ${cert.subjectaltname}`)
    const paths = selfSignedPaths(dataDir)
    const pem = await readFile(paths.cert, 'utf8')
    assert.is((await stat(paths.key)).mode & 0o777, 0o600)
    const x = new X509Certificate(pem)
    assert.ok(x.verify(x.publicKey), 'self-signed: verifies with its own key')
    assert.is(x.fingerprint256, cert.fingerprint256)
    assert.is(r.ui.tls?.fingerprint256, cert.fingerprint256)

    // A verifying client (ca = the certificate) logs in: the cookie is Secure with the __Host- prefix.
    let res = await httpsCall(port, pem, '/admin/api/login', 'POST', { setupCode: r.code, newPassword: PASSWORD }, { origin: `https://127.0.0.1:${port}` })
    assert.is(res.status, 200, JSON.stringify(res.body))
    const setCookie = String(res.headers['set-cookie'])
    assert.match(setCookie, /^__Host-mecha_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/)
    res = await httpsCall(port, pem, '/admin/api/status', 'GET', undefined, { cookie: setCookie.split(';')[0] })
    assert.is(res.status, 200)
    // The plain-HTTP cookie name is not accepted over HTTPS.
    res = await httpsCall(port, pem, '/admin/api/status', 'GET', undefined, { cookie: `mecha_session=${setCookie.split(';')[0].split('=')[1]}` })
    assert.is(res.status, 401)
    await r.ui.close()

    r = await rig({ dataDir, tls: { selfSigned: true, altNames: ['gw-01.lan'] } })
    const again = await peerCert((await r.ui.listen()).port)
    assert.is(again.fingerprint256, cert.fingerprint256, 'the same certificate after a restart')
    assert.is(await readFile(paths.cert, 'utf8'), pem)
    await r.ui.close()

    // A name the stored certificate lacks: a new one is made.
    r = await rig({ dataDir, tls: { selfSigned: true, altNames: ['other.lan'] } })
    assert.is.not(r.ui.tls?.fingerprint256, cert.fingerprint256)
  } finally {
    await r?.ui.close()
  }
})

test('admin https - openssl reads the self-signed certificate as X.509 v3 with the SAN', async () => {
  const probe = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 5000 })
  if (probe.status !== 0) { console.log('  (openssl not found: skipped)'); return }
  const dir = await tmpDir('mecha-openssl')
  const file = join(dir, 'c.pem')
  await writeFile(file, makeSelfSigned({ names: ['gw.local', 'localhost', '127.0.0.1', '::1'] }).certPem)
  const out = spawnSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8', timeout: 5000 })
  assert.is(out.status, 0, out.stderr)
  assert.match(out.stdout, /Version: 3 \(0x2\)/)
  assert.match(out.stdout, /Signature Algorithm: ecdsa-with-SHA256/)
  assert.match(out.stdout, /Subject: O ?= ?Mecha, CN ?= ?gw\.local/)
  assert.match(out.stdout, /DNS:gw\.local, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/)
  assert.match(out.stdout, /CA:FALSE/)
  assert.match(out.stdout, /TLS Web Server Authentication/)
  const verify = spawnSync('openssl', ['verify', '-CAfile', file, '-purpose', 'sslserver', file], { encoding: 'utf8', timeout: 5000 })
  // A leaf with CA:FALSE cannot be its own trust anchor for every openssl version; it must at least parse and be self-signed.
  assert.ok(verify.status === 0 || /self[- ]signed|invalid CA/i.test(verify.stdout + verify.stderr), verify.stdout + verify.stderr)
})

test('admin https - cert/key files are used as given; a key of another certificate is MECHA_ERR_UI_TLS', async () => {
  const dir = await tmpDir('mecha-tlsfiles')
  const a = makeSelfSigned({ names: ['localhost', '127.0.0.1'] })
  const b = makeSelfSigned({ names: ['localhost'] })
  await writeFile(join(dir, 'a.crt'), a.certPem); await writeFile(join(dir, 'a.key'), a.keyPem); await writeFile(join(dir, 'b.key'), b.keyPem)
  const r = await rig({ tls: { cert: join(dir, 'a.crt'), key: join(dir, 'a.key') } })
  try {
    const cert = await peerCert((await r.ui.listen()).port)
    assert.is(cert.fingerprint256, new X509Certificate(a.certPem).fingerprint256)
  } finally { await r.ui.close() }
  for (const tls of [{ cert: join(dir, 'a.crt'), key: join(dir, 'b.key') }, { cert: join(dir, 'missing.crt'), key: join(dir, 'a.key') }]) {
    try {
      await rig({ tls })
      assert.unreachable('should refuse')
    } catch (err) {
      assert.ok(isMechaError(err, 'MECHA_ERR_UI_TLS'), String(err))
    }
  }
})

test.run()
