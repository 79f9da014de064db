import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The UI admin password hash (core/passwords.ts scrypt) lives beside the database, readable by the runtime's
 * user only. `mecha passwd` and the first login (setup code) both write it here.
 */
export function adminHashPath (dataDir: string): string {
  return join(dataDir, 'ui-admin.hash')
}

export async function writeAdminHash (dataDir: string, hash: string): Promise<string> {
  await mkdir(dataDir, { recursive: true })
  const path = adminHashPath(dataDir)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, hash + '\n', { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, path)
  return path
}

/** The stored hash, or undefined when no password was ever set (an empty file counts as none). */
export async function readAdminHash (dataDir: string): Promise<string | undefined> {
  try {
    const text = (await readFile(adminHashPath(dataDir), 'utf8')).trim()
    return text === '' ? undefined : text
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}
