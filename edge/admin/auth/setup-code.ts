import { randomInt, timingSafeEqual, createHash } from 'node:crypto'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Crockford's base32 without I, L, O, U: nothing to confuse when typed off a terminal. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const GROUPS = 3
const GROUP_LEN = 4

export function setupCodePath (dataDir: string): string {
  return join(dataDir, 'admin-setup-code')
}

/** A new code, e.g. `7K2Q-XM9D-P4TB` (60 bits; login attempts are rate-limited besides). */
export function makeSetupCode (): string {
  const groups: string[] = []
  for (let g = 0; g < GROUPS; g++) {
    let s = ''
    for (let i = 0; i < GROUP_LEN; i++) s += ALPHABET[randomInt(ALPHABET.length)]
    groups.push(s)
  }
  return groups.join('-')
}

/** What a user typed, the way it is compared: upper case, no separators, the look-alikes Crockford maps. */
export function normalizeSetupCode (typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
}

/**
 * The one-time setup code of a runtime that has no admin password yet (as Jenkins' initialAdminPassword):
 * written to `<dataDir>/admin-setup-code` (0600) and logged, good for one successful first login, removed then.
 */
export class SetupCode {
  readonly path: string
  #digest: Buffer | undefined

  private constructor (path: string, code: string) {
    this.path = path
    this.#digest = digest(code)
  }

  /** Makes a new code and writes it; each start without a password makes a new one. */
  static async create (dataDir: string, code = makeSetupCode()): Promise<{ setup: SetupCode; code: string }> {
    await mkdir(dataDir, { recursive: true })
    const path = setupCodePath(dataDir)
    // Removed first so an older, looser file's mode cannot survive; then written 0600 (the umask may not allow it).
    await rm(path, { force: true })
    await writeFile(path, code + '\n', { mode: 0o600 })
    await chmod(path, 0o600)
    return { setup: new SetupCode(path, code), code }
  }

  get used (): boolean { return this.#digest === undefined }

  /** Constant-time comparison; false once the code was used. */
  matches (typed: string): boolean {
    if (this.#digest === undefined || typeof typed !== 'string') return false
    return timingSafeEqual(digest(typed), this.#digest)
  }

  /** Spends the code (after the new password is stored) and removes its file. */
  async consume (): Promise<void> {
    this.#digest = undefined
    await rm(this.path, { force: true })
  }
}

function digest (code: string): Buffer {
  return createHash('sha256').update(normalizeSetupCode(code)).digest()
}
