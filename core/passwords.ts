import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Password hashes for MQTT users and the UI admin: scrypt from Node's crypto (no native dependency), stored as
 * `scrypt$N$r$p$salt$hash` (base64url). N=16384 keeps a login under ~50 ms on a gateway-class CPU.
 */
const DEFAULTS = { N: 16384, r: 8, p: 1 }
const KEYLEN = 32

function scryptAsync (password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEYLEN, { ...opts, maxmem: 64 * 1024 * 1024 }, (err, key) => { if (err) reject(err); else resolve(key) })
  })
}

export async function hashPassword (password: string): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw new TypeError('password must be a non-empty string')
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, DEFAULTS)
  return `scrypt$${DEFAULTS.N}$${DEFAULTS.r}$${DEFAULTS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** Constant-time check; a malformed hash never matches. */
export async function verifyPassword (password: string, hash: string): Promise<boolean> {
  const parts = hash.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [N, r, p] = parts.slice(1, 4).map(Number)
  const salt = Buffer.from(parts[4], 'base64url')
  const expected = Buffer.from(parts[5], 'base64url')
  if (![N, r, p].every(Number.isInteger) || expected.length !== KEYLEN) return false
  try {
    const key = await scryptAsync(password, salt, { N, r, p })
    return timingSafeEqual(key, expected)
  } catch {
    return false
  }
}
