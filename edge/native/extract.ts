import { createHash, randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { CacheDirCandidate } from './cache-dir.ts'

export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * Makes sure `<dir>/<hash prefix>-<file>` holds exactly `bytes`, and returns its path.
 *
 * The file name carries the content hash, so a new build never reuses an old addon, and a file that is there is
 * only trusted after its hash checks (a truncated copy from a full disk, or a file planted in a shared temp dir).
 * Writing goes to a private temp name and is renamed into place: rename is atomic, so several first starts at
 * once each write their own copy and the last rename wins with identical bytes; none ever sees a partial file,
 * and a process that already loaded the old inode keeps it.
 *
 * Synchronous on purpose: it runs inside `require()` of the addon's package, which cannot wait.
 */
export function extractTo (candidate: CacheDirCandidate, file: string, bytes: Uint8Array, sha256: string): string {
  const dir = candidate.dir
  makeDirs(dir)
  if (candidate.shared) assertPrivate(dir)
  const target = join(dir, `${sha256.slice(0, 16)}-${file}`)
  if (matches(target, sha256)) return target
  const temp = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  try {
    const fd = openSync(temp, 'wx', 0o755)
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off)
      fsyncSync(fd) // the rename must never publish a name whose data is not on disk yet (power cut)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, target)
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
  return target
}

/**
 * `mkdir -p`, one level at a time. Not `mkdirSync(dir, { recursive: true })`: where mkdir answers ENOENT for a
 * parent that exists (`/proc/x`, some FUSE mounts) Node's recursive mkdir retries forever at full CPU.
 */
function makeDirs (dir: string): void {
  const missing: string[] = []
  for (let d = dir; ; d = dirname(d)) {
    try {
      if (lstatSync(d).isDirectory()) break
      throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || d === dirname(d)) throw err
      missing.push(d)
    }
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, { mode: 0o700 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err // another first start made it
    }
  }
}

function matches (path: string, sha256: string): boolean {
  try {
    return sha256Hex(readFileSync(path)) === sha256
  } catch {
    return false
  }
}

/** A shared parent (the OS temp dir) lets anyone create our dir first: use it only if we own it alone. */
function assertPrivate (dir: string): void {
  const st = lstatSync(dir)
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw Object.assign(new Error(`${dir} is not a private directory of this user`), { code: 'EPERM' })
  }
}
