import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { INTEGRITY } from './pins.ts'
import { step } from './log.ts'

export const CACHE_DIR = join(import.meta.dirname, 'cache')

function integrityOf (file: string): string {
  return 'sha512-' + createHash('sha512').update(readFileSync(file)).digest('base64')
}

function run (cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.error !== undefined) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`)
  return r.stdout
}

/**
 * The unpacked npm package `name@version` under build/cache, fetched with `npm pack` (which, unlike `npm
 * install`, ignores the package's `os`/`cpu` fields, so a foreign target's package can be had) and checked
 * against the pinned integrity before anything is unpacked. Cached: a second build reaches no network.
 */
export function fetchPackage (name: string, version: string, opts: { exclude?: string[] } = {}): string {
  const spec = `${name}@${version}`
  const expected = INTEGRITY[spec]
  if (expected === undefined) throw new Error(`no pinned integrity for ${spec} in build/pins.ts (take it from \`npm view ${spec} dist.integrity\`)`)
  const dir = join(CACHE_DIR, spec.replace(/^@/, '').replace(/[/@]/g, '-'))
  if (existsSync(join(dir, 'package.json'))) return dir
  mkdirSync(CACHE_DIR, { recursive: true })
  const tgz = join(CACHE_DIR, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`)
  if (!existsSync(tgz) || integrityOf(tgz) !== expected) {
    step(`fetching ${spec} from the npm registry`)
    // Into a private dir first: two builds at once (two `npm test` runs) must not read each other's half file.
    const own = join(CACHE_DIR, `.pack-${process.pid}`)
    mkdirSync(own, { recursive: true })
    try {
      const packed = JSON.parse(run('npm', ['pack', spec, '--json', '--silent', '--pack-destination', own])) as Array<{ filename: string }>
      renameSync(join(own, packed[0]!.filename), tgz)
    } finally {
      rmSync(own, { recursive: true, force: true })
    }
  }
  const actual = integrityOf(tgz)
  if (actual !== expected) {
    rmSync(tgz, { force: true })
    throw new Error(`${spec}: integrity ${actual} does not match the pinned ${expected}`)
  }
  // Unpack beside, then rename: an interrupted build never leaves a half-unpacked package that looks complete.
  const temp = `${dir}.${process.pid}.tmp`
  rmSync(temp, { recursive: true, force: true })
  mkdirSync(temp, { recursive: true })
  run('tar', ['-xzf', tgz, '-C', temp, '--strip-components=1', ...(opts.exclude ?? []).map((p) => `--exclude=package/${p}`)])
  try {
    renameSync(temp, dir)
  } catch (err) {
    // Another build unpacked the same package meanwhile: use theirs.
    rmSync(temp, { recursive: true, force: true })
    if (!existsSync(join(dir, 'package.json'))) throw err
  }
  return dir
}
