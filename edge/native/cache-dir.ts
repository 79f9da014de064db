import { homedir, tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'

/** Where extracted addons may go, best first. */
export interface CacheDirCandidate {
  dir: string
  /** An override the user gave: failing there is an error, not a reason to try elsewhere. */
  explicit: boolean
  /** A directory other users can write to (the OS temp dir), so its owner and mode are checked before use. */
  shared: boolean
}

/**
 * `MECHA_NATIVE_CACHE` alone when set; otherwise `$XDG_CACHE_HOME/mecha/native` (the XDG spec ignores a relative
 * value) or `~/.cache/mecha/native`, then a per-user dir under the OS temp dir for a gateway whose home is
 * read-only or missing (a service user without a home, a read-only root file system).
 */
export function cacheDirCandidates (env: NodeJS.ProcessEnv = process.env): CacheDirCandidate[] {
  const override = env.MECHA_NATIVE_CACHE
  if (override !== undefined && override !== '') return [{ dir: override, explicit: true, shared: false }]
  const out: CacheDirCandidate[] = []
  const xdg = env.XDG_CACHE_HOME
  if (xdg !== undefined && isAbsolute(xdg)) out.push({ dir: join(xdg, 'mecha', 'native'), explicit: false, shared: false })
  else {
    const home = safeHomedir()
    if (home !== undefined) out.push({ dir: join(home, '.cache', 'mecha', 'native'), explicit: false, shared: false })
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user'
  out.push({ dir: join(tmpdir(), `mecha-native-${uid}`), explicit: false, shared: true })
  return out
}

function safeHomedir (): string | undefined {
  try {
    const home = homedir()
    return home === '' ? undefined : home
  } catch {
    return undefined // no HOME and no passwd entry (a bare container uid)
  }
}
