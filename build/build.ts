/**
 * `npm run build`: the single executables `dist/mecha-linux-x64` and `dist/mecha-linux-arm64` (each with a
 * `.sha256`), and `dist/bundle.cjs` (the host target's bundle, runnable with `node`).
 *
 * First the web UI (edge/ui/dev-bundle.ts: edge/ui/app → edge/ui/static/gen, embedded below). For each
 * target: esbuild bundle → SEA blob made by the host's Node of the pinned version (with the target's
 * native addons and the UI files as assets) → the official Node binary of that version from the npm package
 * `node-linux-<arch>`, stripped → blob injected → smoke-run (`version --json`, under qemu for the other arch).
 * Reaches nothing but the npm registry, and that only until build/cache holds the pinned packages.
 *
 * `node --import tsx build/build.ts [x64] [arm64]` builds only the named targets.
 * `MECHA_SEA_INJECTOR=postject` injects with postject instead of build/elf-inject.ts (see there why not).
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { basename, join } from 'node:path'
import { bundle, ROOT } from './bundle.ts'
import { injectFile } from './elf-inject.ts'
import { mib, step } from './log.ts'
import { baseNode, officialNode } from './node-binary.ts'
import { NODE_VERSION, SEA_FUSE } from './pins.ts'
import { prebuildsFor } from './prebuilds.ts'
import { makeBlob } from './sea-blob.ts'
import { ARCHES, hostArch, runnerFor, target, type Arch, type Target } from './targets.ts'
import { CACHE_DIR } from './fetch.ts'
import { bundleUi } from '../edge/ui/dev-bundle.ts'

export const DIST = join(ROOT, 'dist')

function git (args: string[]): string | undefined {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

/** The commit the build stamps in: `-dirty` when the working tree has changes the commit does not hold. */
function commitId (): string {
  const head = git(['rev-parse', '--short=12', 'HEAD'])
  if (head === undefined) return 'unknown'
  return (git(['status', '--porcelain', '--untracked-files=no']) ?? '') === '' ? head : `${head}-dirty`
}

async function inject (file: string, blob: string): Promise<void> {
  if (process.env.MECHA_SEA_INJECTOR === 'postject') {
    const name = 'postject' // a variable: postject ships no types, and only this opt-in path loads it
    const { inject: postject } = await import(name) as { inject: (f: string, n: string, d: Buffer, o: object) => Promise<void> }
    await postject(file, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE })
    return
  }
  await injectFile(file, blob, { sentinelFuse: SEA_FUSE })
}

/** The built executable answers `version --json` with its target and a native cbor-x; undefined = not run. */
function smoke (t: Target, exe: string): string | undefined {
  const runner = runnerFor(t.arch)
  if (runner === undefined) return undefined
  const [cmd, ...pre] = [...runner, exe]
  const r = spawnSync(cmd!, [...pre, 'version', '--json'], { encoding: 'utf8', timeout: 120_000, env: { PATH: '/usr/bin:/bin' } })
  if (r.status !== 0) throw new Error(`${basename(exe)} version --json exited ${r.status ?? r.signal}: ${r.stderr.trim()}`)
  const info = JSON.parse(r.stdout) as { target?: string; cborNative?: boolean; node?: string }
  if (info.target !== t.name || info.node !== `v${NODE_VERSION}`) throw new Error(`${basename(exe)} reports ${r.stdout.trim()}`)
  if (info.cborNative !== true) throw new Error(`${basename(exe)} runs cbor-x without its native extractor`)
  return r.stdout.trim()
}

async function buildTarget (arch: Arch, stamp: Stamp, abi: string): Promise<void> {
  const t = target(arch)
  // Private to this build: two builds at once (two `npm test` runs) must not mix their bundles and blobs.
  const work = join(CACHE_DIR, 'work', `${t.name}.${process.pid}`)
  mkdirSync(work, { recursive: true })
  try {
    await buildIn(t, work, stamp, abi)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

interface Stamp { commit: string; builtAt: string }

async function buildIn (t: Target, work: string, stamp: Stamp, abi: string): Promise<void> {
  const arch = t.arch

  step(`${t.name}: bundling edge/main.ts`)
  const bundleFile = join(work, 'mecha.cjs')
  const b = await bundle(bundleFile, { ...stamp, target: t.name })
  step(`${t.name}: bundle ${mib(b.bytes)}, native addons: ${b.addons.join(', ')}`)
  if (arch === process.arch) {
    copyFileSync(bundleFile, join(DIST, `bundle.cjs.${process.pid}.tmp`))
    renameSync(join(DIST, `bundle.cjs.${process.pid}.tmp`), join(DIST, 'bundle.cjs'))
  }

  const prebuilds = prebuildsFor(t, abi, b.addons)
  for (const p of prebuilds) step(`${t.name}: ${p.addon}: ${p.path.replace(ROOT + '/', '')} (${p.tags})`)

  const hostNode = officialNode(target(hostArch()))
  const blob = makeBlob({ main: bundleFile, workDir: work, prebuilds, root: ROOT, node: hostNode, codeCache: arch === hostArch() })
  step(`${t.name}: SEA blob ${mib(statSync(blob.blob).size)} with ${blob.assets} assets (${mib(blob.assetBytes)})`)

  const base = baseNode(t)
  const out = join(DIST, `mecha-${t.name}`)
  const temp = `${out}.${process.pid}.tmp`
  try {
    copyFileSync(base.path, temp)
    await inject(temp, blob.blob)
    chmodSync(temp, 0o755)
    step(`${t.name}: injected the blob (${process.env.MECHA_SEA_INJECTOR === 'postject' ? 'postject' : 'elf-inject'}), smoke test`)
    const said = smoke(t, temp)
    step(`${t.name}: ${said === undefined ? `not run: no way to run ${t.arch} binaries here (install qemu-user)` : said}`)
    renameSync(temp, out)
  } finally {
    rmSync(temp, { force: true })
  }
  const sha = createHash('sha256').update(readFileSync(out)).digest('hex')
  writeFileSync(`${out}.sha256`, `${sha}  ${basename(out)}\n`)
  step(`${t.name}: dist/${basename(out)} ${mib(statSync(out).size)}${base.stripped ? '' : ' (not stripped)'}, sha256 ${sha.slice(0, 16)}…`)
}

async function main (): Promise<void> {
  const started = Date.now()
  const wanted = process.argv.slice(2)
  for (const w of wanted) if (!ARCHES.includes(w as Arch)) throw new Error(`unknown target ${w} (x64, arm64)`)
  const arches = wanted.length > 0 ? wanted as Arch[] : [...ARCHES]
  mkdirSync(DIST, { recursive: true })
  const stamp = { commit: commitId(), builtAt: new Date().toISOString() }
  step(`building ${arches.map((a) => `mecha-${target(a).name}`).join(', ')} with Node ${NODE_VERSION}, commit ${stamp.commit}`)
  // The web UI first (edge/ui/app → edge/ui/static/gen), so the blob embeds the bundle of these sources.
  const ui = await bundleUi()
  step(`web UI: ${ui.files.join(', ')} ${mib(ui.bytes)}`)
  const hostNode = officialNode(target(hostArch()))
  // The pinned Node's module ABI (137 for Node 24) picks cbor-extract's `node.abi137` prebuild.
  const abi = spawnSync(hostNode, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).stdout?.trim() ?? ''
  if (!/^\d+$/.test(abi)) throw new Error(`cannot run the pinned host Node ${hostNode}`)
  for (const arch of arches) {
    try {
      await buildTarget(arch, stamp, abi)
    } catch (err) {
      rmSync(join(DIST, `mecha-${target(arch).name}`), { force: true })
      rmSync(join(DIST, `mecha-${target(arch).name}.sha256`), { force: true })
      throw err
    }
  }
  step(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

main().catch((err: unknown) => {
  process.stderr.write(`build failed: ${(err as Error)?.message ?? String(err)}\n`)
  process.exitCode = 1
})
