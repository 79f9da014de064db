import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MechaError } from '../../core/errors.ts'
import { ADDONS, ADDON_MANIFEST_ASSET, isAddonName, type AddonEntry, type AddonName } from './addons.ts'
import { cacheDirCandidates, type CacheDirCandidate } from './cache-dir.ts'
import { extractTo, sha256Hex } from './extract.ts'
import { isSea, seaAsset } from './sea.ts'

const loaded = new Map<AddonName, unknown>()
/** Where each addon was loaded from, for `mecha version --json` and logs. */
const origins = new Map<AddonName, string>()

/**
 * The exports of a native addon. The bundle calls this where a package called `node-gyp-build(__dirname)`.
 * Inside the single executable `require` loads built-ins only, so the addon the build embedded for this target
 * is written to the cache dir (see extract.ts) and loaded with `process.dlopen`. Outside a SEA (`node
 * dist/bundle.cjs` in the checkout) the package's own prebuild finder runs, as without bundling.
 */
export function loadAddon (name: string): unknown {
  if (!isAddonName(name)) throw new TypeError(`unknown native addon ${name}`)
  if (loaded.has(name)) return loaded.get(name)
  const exports = isSea() ? loadEmbedded(name) : loadInstalled(name)
  loaded.set(name, exports)
  return exports
}

export function loadedAddons (): Record<string, string> {
  return Object.fromEntries(origins)
}

let manifest: Record<string, AddonEntry> | undefined

function loadEmbedded (name: AddonName): unknown {
  manifest ??= JSON.parse(seaAsset(ADDON_MANIFEST_ASSET)?.toString('utf8') ?? '{}') as Record<string, AddonEntry>
  const entry = manifest[name]
  const bytes = entry === undefined ? undefined : seaAsset(entry.asset)
  if (entry === undefined || bytes === undefined) {
    throw new MechaError('MECHA_ERR_NATIVE_ADDON', `the executable carries no ${name} addon for ${process.platform}-${process.arch}`)
  }
  if (sha256Hex(bytes) !== entry.sha256) throw new MechaError('MECHA_ERR_NATIVE_ADDON', `the embedded ${name} addon is corrupt`)
  const failures: string[] = []
  let lastError: unknown
  for (const candidate of cacheDirCandidates()) {
    try {
      const path = extractTo(candidate, entry.file, bytes, entry.sha256)
      const exports = dlopen(path)
      origins.set(name, path)
      return exports
    } catch (err) {
      // An unwritable cache, or one on a `noexec` mount (dlopen fails there): try the next place.
      lastError = err
      failures.push(`${candidate.dir}: ${(err as Error).message}`)
      if (stopsHere(candidate)) break
    }
  }
  throw new MechaError('MECHA_ERR_NATIVE_ADDON', `cannot extract or load the ${name} addon (${failures.join('; ')})`, { cause: lastError })
}

function stopsHere (candidate: CacheDirCandidate): boolean {
  return candidate.explicit // MECHA_NATIVE_CACHE names the one place to use
}

function dlopen (path: string): unknown {
  const module = { exports: {} as unknown }
  process.dlopen(module, path)
  return module.exports
}

/** The bundle's own file in CommonJS (where esbuild maps `import.meta.url`), or this module's from source. */
const req = createRequire(import.meta.url)

function loadInstalled (name: AddonName): unknown {
  const dir = packageDir(name)
  if (dir === undefined) {
    throw new MechaError('MECHA_ERR_NATIVE_ADDON', `${name} is not installed next to ${fileURLToPath(import.meta.url)} and this is not the single executable`)
  }
  const finder = createRequire(join(dir, 'package.json'))(ADDONS[name].finder) as { (dir: string): unknown; resolve?: (dir: string) => string }
  try {
    const exports = finder(dir)
    origins.set(name, finder.resolve?.(dir) ?? dir)
    return exports
  } catch (err) {
    throw new MechaError('MECHA_ERR_NATIVE_ADDON', `cannot load the ${name} addon from ${dir}`, { cause: err })
  }
}

/** The package's root: resolve its entry point, then walk up to the package.json that names it. */
function packageDir (name: AddonName): string | undefined {
  let entry: string
  try {
    entry = req.resolve(name)
  } catch {
    return undefined
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === name) return dir
  }
  return undefined
}
