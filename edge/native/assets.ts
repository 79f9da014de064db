import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { basename, dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isSea, seaAsset } from './sea.ts'

/** The asset that lists every embedded UI file (a SEA cannot enumerate its assets). */
export const UI_INDEX_ASSET = 'ui/index.json'
/** Embedded UI files are named `ui/<path under edge/ui/static>`. */
export const UI_PREFIX = 'ui/'
export const UI_SOURCE_DIR = join('edge', 'ui', 'static')

/**
 * The project root when not running as a SEA: two levels above this file from source (edge/native/), one above
 * the bundle (dist/bundle.cjs). Used to read what the executable would carry embedded.
 */
function sourceRoot (): string {
  const here = fileURLToPath(import.meta.url)
  return here.endsWith('.cjs') ? join(dirname(here), '..') : join(dirname(here), '..', '..')
}

function sourcePath (name: string): string | undefined {
  if (!name.startsWith(UI_PREFIX)) return undefined
  const rel = name.slice(UI_PREFIX.length)
  const root = join(sourceRoot(), UI_SOURCE_DIR)
  const path = join(root, rel)
  // No `..` escapes: a request path becomes an asset name.
  return relative(root, path).startsWith('..') ? undefined : path
}

/**
 * An embedded file by name (`ui/index.html`): from the executable inside a SEA, else from the source tree, so
 * the UI server serves the same bytes either way. Undefined when there is no such file.
 */
export function readAsset (name: string): Buffer | undefined {
  if (isSea()) return seaAsset(name)
  const path = sourcePath(name)
  if (path === undefined || !existsSync(path)) return undefined
  try {
    return readFileSync(path)
  } catch {
    return undefined // a directory, or unreadable
  }
}

/** The names of all UI files (`ui/...`), sorted; empty when the build had no `edge/ui/static/`. */
export function listUiAssets (): string[] {
  if (isSea()) {
    const index = seaAsset(UI_INDEX_ASSET)
    return index === undefined ? [] : (JSON.parse(index.toString('utf8')) as string[])
  }
  const root = join(sourceRoot(), UI_SOURCE_DIR)
  return existsSync(root) ? walk(root).map((p) => UI_PREFIX + relative(root, p).split(sep).join('/')).sort() : []
}

export function walk (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (basename(entry.name).startsWith('.')) continue
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...walk(p))
    else if (entry.isFile()) out.push(p)
  }
  return out
}
