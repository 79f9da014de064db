import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ADDONS, type AddonName } from '../edge/native/addons.ts'
import { CBOR_EXTRACT_VERSION } from './pins.ts'
import { fetchPackage } from './fetch.ts'
import type { Target } from './targets.ts'

const root = join(import.meta.dirname, '..')
const req = createRequire(join(root, 'package.json'))

export interface Prebuild {
  addon: AddonName
  path: string
  /** Why this file: shown in the build log. */
  tags: string
}

/** The installed package's root dir (its entry may sit in a subdir, as @serialport/bindings-cpp's does). */
function packageDir (name: string): string {
  for (let dir = dirname(req.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === name) return dir
  }
  throw new Error(`cannot find the package dir of ${name}`)
}

interface Candidate { file: string; tags: Set<string> }

/**
 * Picks the prebuild node-gyp-build would pick on the target, from file names like
 * `classic-level.armv8.node` or `node.abi137.glibc.node`: Node runtime, glibc (the npm Node binaries are
 * glibc builds, so musl files cannot load), the target's ARM tag if it has one, and the exact ABI of the
 * pinned Node before N-API (cbor-extract's ABI builds use V8 fast calls; its N-API build does not).
 */
export function pickPrebuild (dir: string, abi: string, t: Target): Candidate | undefined {
  if (!existsSync(dir)) return undefined
  const ok: Array<Candidate & { score: number }> = []
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.node')) continue
    const tags = new Set(file.slice(0, -'.node'.length).split('.').slice(1))
    if (tags.has('musl') || tags.has('electron')) continue
    if ([...tags].some((x) => /^armv\d+$/.test(x)) && (t.armTag === undefined || !tags.has(t.armTag))) continue
    const abiTag = [...tags].find((x) => /^abi\d+$/.test(x))
    if (abiTag !== undefined && abiTag !== `abi${abi}`) continue
    if (abiTag === undefined && !tags.has('napi') && [...tags].some((x) => /^abi/.test(x))) continue
    // Prefer the exact ABI, then glibc-tagged, then anything N-API or untagged.
    const score = (abiTag !== undefined ? 4 : 0) + (tags.has('glibc') ? 2 : 0)
    ok.push({ file: join(dir, file), tags, score })
  }
  ok.sort((a, b) => b.score - a.score)
  return ok[0]
}

/** The addon files the target's executable embeds, one per addon in edge/native/addons.ts. */
export function prebuildsFor (t: Target, abi: string, addons: readonly AddonName[] = Object.keys(ADDONS) as AddonName[]): Prebuild[] {
  const installed = (JSON.parse(readFileSync(join(packageDir('cbor-extract'), 'package.json'), 'utf8')) as { version: string }).version
  if (installed !== CBOR_EXTRACT_VERSION) throw new Error(`cbor-extract ${installed} is installed but build/pins.ts pins ${CBOR_EXTRACT_VERSION}: the JS and the binary must match`)
  const out: Prebuild[] = []
  for (const addon of addons) {
    // cbor-extract keeps its binaries in per-platform packages (@cbor-extract/cbor-extract-linux-arm64), which
    // npm installs only for the host: the target's comes from the registry like the Node binary.
    const dir = addon === 'cbor-extract'
      ? fetchPackage(`@cbor-extract/cbor-extract-${t.name}`, CBOR_EXTRACT_VERSION)
      : join(packageDir(addon), 'prebuilds', t.name)
    const pick = pickPrebuild(dir, abi, t)
    if (pick === undefined) throw new Error(`no ${t.name} prebuild of ${addon} in ${dir}`)
    out.push({ addon, path: pick.file, tags: [...pick.tags].join('.') || 'untagged' })
  }
  return out
}
