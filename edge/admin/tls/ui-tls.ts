import { X509Certificate, createPrivateKey } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { MechaError } from '../../../core/errors.ts'
import type { UiTlsConfig } from '../../../core/config/types.ts'
import type { Logger } from '../../../core/logger.ts'
import { makeSelfSigned } from './self-signed.ts'

export interface UiTlsMaterial {
  cert: string
  key: string
  selfSigned: boolean
  /** Where the certificate is, for the log line. */
  certPath: string
  /** SHA-256 fingerprint, so a user can check what the browser shows before trusting a self-signed certificate. */
  fingerprint256: string
}

export interface UiTlsOptions {
  dataDir: string
  /** The UI listener's host (`ui.host`); a wildcard adds the machine's host name instead. */
  host: string
  log: Logger
  /** @default new Date() */
  now?: Date
}

/** A self-signed certificate is remade this long before it expires. */
const RENEW_BEFORE_MS = 30 * 86_400_000

export function selfSignedPaths (dataDir: string): { dir: string; cert: string; key: string } {
  const dir = join(dataDir, 'ui-tls')
  return { dir, cert: join(dir, 'self-signed.crt'), key: join(dir, 'self-signed.key') }
}

/** The names a self-signed certificate must carry: the configured host (or this machine's name), loopback, and `altNames`. */
export function selfSignedNames (host: string, altNames: readonly string[] = []): string[] {
  const wildcard = host === '0.0.0.0' || host === '::' || host === ''
  const first = wildcard ? hostname() : host
  return [...new Set([first, ...altNames, 'localhost', '127.0.0.1', '::1'])]
}

/** The key and certificate for HTTPS on the UI port, or undefined when `ui.tls` is absent (plain HTTP). */
export async function loadUiTls (tls: UiTlsConfig | undefined, opts: UiTlsOptions): Promise<UiTlsMaterial | undefined> {
  if (tls === undefined) return undefined
  if (tls.selfSigned === true) return selfSigned(opts, tls.altNames ?? [])
  const certPath = resolve(tls.cert)
  let cert: string; let key: string
  try {
    [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(resolve(tls.key), 'utf8')])
  } catch (err) {
    throw new MechaError('MECHA_ERR_UI_TLS', `ui.tls files cannot be read: ${(err as Error).message}`, { cause: err })
  }
  let x: X509Certificate
  try {
    x = new X509Certificate(cert)
    if (!x.checkPrivateKey(createPrivateKey(key))) throw new Error('the key is not the certificate\'s')
  } catch (err) {
    throw new MechaError('MECHA_ERR_UI_TLS', `ui.tls.cert / ui.tls.key: ${(err as Error).message}`, { cause: err })
  }
  return { cert, key, selfSigned: false, certPath, fingerprint256: x.fingerprint256 }
}

async function selfSigned (opts: UiTlsOptions, altNames: readonly string[]): Promise<UiTlsMaterial> {
  const paths = selfSignedPaths(opts.dataDir)
  const names = selfSignedNames(opts.host, altNames)
  const now = opts.now ?? new Date()
  const kept = await readKept(paths, names, now)
  if (kept !== undefined) return kept
  const made = makeSelfSigned({ names, notBefore: now })
  try {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 })
    // Key first, each written whole then renamed, so a crash never leaves a certificate without its key.
    await atomicWrite(paths.key, made.keyPem)
    await atomicWrite(paths.cert, made.certPem)
  } catch (err) {
    throw new MechaError('MECHA_ERR_UI_TLS', `cannot write the self-signed certificate to ${paths.dir}: ${(err as Error).message}`, { cause: err })
  }
  const fingerprint256 = new X509Certificate(made.certPem).fingerprint256
  opts.log.warn({ cert: paths.cert, names, fingerprint256 }, 'made a self-signed certificate for the UI; browsers will warn until it is trusted (compare the fingerprint)')
  return { cert: made.certPem, key: made.keyPem, selfSigned: true, certPath: paths.cert, fingerprint256 }
}

/** The stored self-signed pair, when it is readable, matches, is not close to expiry and names every `names`. */
async function readKept (paths: { cert: string; key: string }, names: readonly string[], now: Date): Promise<UiTlsMaterial | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8')])
    const x = new X509Certificate(cert)
    if (!x.checkPrivateKey(createPrivateKey(key))) return undefined
    if (new Date(x.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return undefined
    const san = new Set((x.subjectAltName ?? '').split(', ').map((e) => e.replace(/^(DNS|IP Address):/, '')))
    // Node prints IPv6 SANs expanded (0:0:0:0:0:0:0:1); compare ::1 in that form.
    const has = (n: string): boolean => san.has(n) || (n === '::1' && san.has('0:0:0:0:0:0:0:1'))
    if (!names.every(has)) return undefined
    return { cert, key, selfSigned: true, certPath: paths.cert, fingerprint256: x.fingerprint256 }
  } catch {
    return undefined // absent or unreadable: make a new one
  }
}

async function atomicWrite (path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, text, { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, path)
}
