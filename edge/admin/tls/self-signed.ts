import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { isIP } from 'node:net'
import { bitString, boolean, explicit, implicit, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.ts'

/** OIDs used below (RFC 5280 §4.2.1, RFC 5758 §3.2, X.520). */
const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
}

export interface SelfSignedOptions {
  /** Host names and IP addresses for the subjectAltName; the first is the subject's CN. */
  names: readonly string[]
  /** @default now */
  notBefore?: Date
  /** @default 825 */
  validDays?: number
}

export interface SelfSigned { certPem: string; keyPem: string; certDer: Buffer }

function name (cn: string): Buffer {
  // RFC 5280 §4.1.2.4: an RDNSequence; one attribute per RDN.
  const rdn = (type: string, value: string): Buffer => set(sequence(oid(type), utf8String(value)))
  return sequence(rdn(OID.organization, 'Mecha'), rdn(OID.commonName, cn))
}

function ipBytes (ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number))
  // IPv6: expand `::`, then 8 groups of 16 bits (RFC 5280 §4.2.1.6: 16 octets).
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined]
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => { out.writeUInt16BE(parseInt(g, 16), i * 2) })
  return out
}

function extension (id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value))
}

/**
 * A self-signed X.509 v3 server certificate (RFC 5280) with an ECDSA P-256 key: subjectAltName with every name
 * (dNSName or iPAddress), CA:FALSE, keyUsage digitalSignature, extKeyUsage serverAuth — what browsers and
 * node:tls check for a server certificate.
 */
export function makeSelfSigned (opts: SelfSignedOptions): SelfSigned {
  if (opts.names.length === 0) throw new TypeError('makeSelfSigned needs at least one name')
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const certDer = buildCertificate(opts, privateKey, publicKey)
  const certPem = `-----BEGIN CERTIFICATE-----\n${certDer.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  return { certPem, keyPem, certDer }
}

function buildCertificate (opts: SelfSignedOptions, privateKey: KeyObject, publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const notBefore = opts.notBefore ?? new Date()
  // A little slack for gateways whose clock is behind the browser's.
  const start = new Date(notBefore.getTime() - 60 * 60 * 1000)
  const end = new Date(notBefore.getTime() + (opts.validDays ?? 825) * 86_400_000)
  // §4.1.2.2: a positive serial of at most 20 octets.
  const serial = randomBytes(16)
  serial[0] &= 0x7f
  const sigAlg = sequence(oid(OID.ecdsaWithSha256)) // RFC 5758 §3.2: parameters absent
  const altNames = sequence(...opts.names.map((n) => (isIP(n) !== 0 ? implicit(7, ipBytes(n)) : implicit(2, Buffer.from(n, 'ascii')))))
  // The SKI: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1); the BIT STRING's content starts after its 0 pad byte.
  const keyBits = spki.subarray(spki.length - 65)
  const ski = createHash('sha1').update(keyBits).digest()
  const extensions = sequence(
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x07, 0x80])), // digitalSignature (bit 0)
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
    extension(OID.subjectAltName, false, altNames),
    extension(OID.subjectKeyIdentifier, false, octetString(ski)),
  )
  const subject = name(opts.names[0])
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    sigAlg,
    subject, // issuer = subject: self-signed
    sequence(time(start), time(end)),
    subject,
    spki,
    explicit(3, extensions),
  )
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })
  return sequence(tbs, sigAlg, bitString(signature))
}
