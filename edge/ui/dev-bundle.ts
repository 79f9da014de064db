/**
 * The web UI's bundle (edge/ui/app/main.ts → edge/ui/static/gen/app.js + app.css), made by esbuild. `npm run
 * build` calls `bundleUi` before it collects the static files into the executable; from source (`npm start`,
 * tests) the UI server calls `ensureUiBundle` once at start, which bundles only when the output is missing or
 * older than a source file. Loaded lazily (esbuild is a dev dependency and is never inside the executable).
 * The output directory is git-ignored: generated bundles are never committed.
 */
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const HERE = dirname(fileURLToPath(import.meta.url))
export const UI_APP_DIR = join(HERE, 'app')
export const UI_ENTRY = join(UI_APP_DIR, 'main.ts')
/** Under edge/ui/static, so the asset reader serves it and the build embeds it like every other UI file. */
export const UI_GEN_DIR = join(HERE, 'static', 'gen')
const OUTPUTS = ['app.js', 'app.css'] as const

function newestMtime (dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

function oldestOutput (): number | undefined {
  let oldest = Infinity
  for (const name of OUTPUTS) {
    try { oldest = Math.min(oldest, statSync(join(UI_GEN_DIR, name)).mtimeMs) } catch { return undefined }
  }
  return oldest
}

/** True when a source file is newer than the bundle (or there is none). */
export function uiBundleStale (): boolean {
  const built = oldestOutput()
  // The bundler's own settings (this file) count as a source too.
  return built === undefined || Math.max(newestMtime(UI_APP_DIR), statSync(fileURLToPath(import.meta.url)).mtimeMs) > built
}

/**
 * Bundles the UI for browsers: Preact + htm + uPlot + MQTT.js's browser build in one IIFE script, the CSS
 * (ours and uPlot's) in one file. Each output is written to a temp file and renamed, so a server reading it (or
 * a second bundler at the same time, as parallel test processes are) never sees half a file.
 */
export async function bundleUi (opts: { minify?: boolean } = {}): Promise<{ files: string[]; bytes: number }> {
  const result = await esbuild.build({
    entryPoints: { app: UI_ENTRY },
    bundle: true,
    write: false,
    outdir: UI_GEN_DIR,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: opts.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
    // MQTT.js's browser build reads these Node globals.
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    conditions: ['browser'],
    mainFields: ['browser', 'module', 'main'],
  })
  if (result.warnings.length > 0) {
    throw new Error(`bundling the UI: ${result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`).join('; ')}`)
  }
  mkdirSync(UI_GEN_DIR, { recursive: true })
  const files: string[] = []
  let bytes = 0
  for (const out of result.outputFiles) {
    const tmp = `${out.path}.${process.pid}.tmp`
    writeFileSync(tmp, out.contents)
    renameSync(tmp, out.path)
    files.push(basename(out.path))
    bytes += out.contents.byteLength
  }
  return { files: files.sort(), bytes }
}

/** From source: bundles when stale; a failure is logged and the server still starts (the admin API works). */
export async function ensureUiBundle (log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void }): Promise<void> {
  if (!uiBundleStale()) return
  const t0 = Date.now()
  try {
    const r = await bundleUi()
    log.info({ files: r.files, bytes: r.bytes, ms: Date.now() - t0 }, 'web UI bundled from edge/ui/app')
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'web UI could not be bundled; the admin API still works')
  }
}
