import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { ADDON_MANIFEST_ASSET, type AddonEntry } from '../edge/native/addons.ts'
import { UI_INDEX_ASSET, UI_PREFIX, UI_SOURCE_DIR, walk } from '../edge/native/assets.ts'
import { sha256Hex } from '../edge/native/extract.ts'
import type { Prebuild } from './prebuilds.ts'

export interface BlobInput {
  /** The bundle: the SEA's main script. */
  main: string
  workDir: string
  prebuilds: Prebuild[]
  /** The project root, for `edge/ui/static/`. */
  root: string
  /** The host-arch Node binary of the pinned version: a blob must be made by the Node that runs it. */
  node: string
  /** Embed V8's code cache of the bundle: only when the blob is for the host's own arch (see below). */
  codeCache?: boolean
}

/**
 * Writes the SEA config and makes the blob with `--experimental-sea-config`. V8's code cache of the bundle is
 * tied to the CPU architecture and the V8 build, so it is embedded only in the blob for the host's own arch
 * (`codeCache`), made by the host's pinned Node, the same build the executable runs; the other arch's blob
 * goes without (the host's Node can make it, and V8 compiles the bundle at start instead). Measured on x64:
 * spawn-to-ready ~110 ms shorter, idle RSS ~2 MiB lower, blob +0.6 MiB (docs/performance.md).
 * Assets: each addon as `native/<name>.node` plus a manifest with their hashes,
 * and every file of `edge/ui/static/` as `ui/<path>` plus an index (a SEA cannot list its assets).
 */
export function makeBlob (input: BlobInput): { blob: string; assets: number; assetBytes: number } {
  mkdirSync(input.workDir, { recursive: true })
  const assets: Record<string, string> = {}
  const manifest: Record<string, AddonEntry> = {}
  for (const p of input.prebuilds) {
    const file = `${p.addon.replace(/^@/, '').replace('/', '-')}.node`
    const asset = `native/${file}`
    assets[asset] = p.path
    manifest[p.addon] = { asset, file, sha256: sha256Hex(readFileSync(p.path)) }
  }
  const manifestFile = join(input.workDir, 'native-manifest.json')
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2))
  assets[ADDON_MANIFEST_ASSET] = manifestFile

  const uiDir = join(input.root, UI_SOURCE_DIR)
  const ui: string[] = []
  try {
    if (statSync(uiDir).isDirectory()) {
      for (const file of walk(uiDir)) {
        const name = UI_PREFIX + relative(uiDir, file).split(sep).join('/')
        assets[name] = file
        ui.push(name)
      }
    }
  } catch {
    // no UI yet: nothing to embed
  }
  ui.sort()
  const indexFile = join(input.workDir, 'ui-index.json')
  writeFileSync(indexFile, JSON.stringify(ui))
  assets[UI_INDEX_ASSET] = indexFile

  const blob = join(input.workDir, 'sea.blob')
  const config = join(input.workDir, 'sea-config.json')
  writeFileSync(config, JSON.stringify({
    // Relative to the work dir (the cwd below): stack traces from a gateway then say `mecha.cjs:<line>`, not
    // the build machine's path.
    main: relative(input.workDir, input.main),
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: input.codeCache === true,
    // V8's young generation capped at 16 MiB per semi-space (without one, Node 24's grew to 32-64 MiB under
    // load). Measured with the executable, 1,000 msg/s forwarded to a cloud and 40,000 broker deliveries per
    // case, 3-6 interleaved rounds, each paired with a cap of 1 MiB (the earlier choice): CPU per QoS 0
    // delivery x0.73 (0.56-0.82), per QoS 1 x0.67 (0.44-0.69), as fast as no cap; idle RSS +11.6 MiB
    // (11.2-13.0), the same as no cap (V8 grows the young generation to its cap during start-up and keeps it
    // idle); max RSS forwarding +24 MiB where no cap costs +53 (docs/performance.md, "V8 young generation").
    // A --min-semi-space-size does not help idle RSS. NODE_OPTIONS cannot change this value: the SEA's
    // execArgv count as the command line, which wins over NODE_OPTIONS (checked with
    // v8.getHeapSpaceStatistics()), so a gateway that needs another cap needs another build.
    execArgv: ['--max-semi-space-size=16'],
    assets,
  }, null, 2))
  const r = spawnSync(input.node, ['--experimental-sea-config', config], { encoding: 'utf8', cwd: input.workDir })
  if (r.status !== 0) throw new Error(`${input.node} --experimental-sea-config failed: ${r.error?.message ?? (r.stderr.trim() || r.stdout.trim())}`)
  const assetBytes = Object.values(assets).reduce((a, f) => a + statSync(f).size, 0)
  return { blob, assets: Object.keys(assets).length, assetBytes }
}
