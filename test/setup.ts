/**
 * Work done once per `npm test` run before any test file starts, for the files that need it
 * (e.g. building the single executable once for every test that runs it).
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** What goes into the executables: a change to any of these makes dist/ stale. */
const SOURCE_DIRS = ['core', 'edge', 'devices', 'cloud-bridge', 'build']
const SOURCE_FILES = ['package.json', 'package-lock.json']
const SKIP = new Set([join(root, 'build', 'cache'), join(root, 'node_modules')])
export const EXECUTABLES = ['dist/mecha-linux-x64', 'dist/mecha-linux-arm64', 'dist/bundle.cjs']

function newestMtime (path: string): number {
  if (SKIP.has(path)) return 0
  let st
  try { st = statSync(path) } catch { return 0 }
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs // a deleted file shows as its directory's change
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

function oldestOutput (): number {
  let oldest = Infinity
  for (const f of EXECUTABLES) {
    try { oldest = Math.min(oldest, statSync(join(root, f)).mtimeMs) } catch { return 0 }
  }
  return oldest
}

/** Builds the executables when a selected test runs them and they are missing or older than any source. */
async function buildExecutables (): Promise<void> {
  const sources = Math.max(...SOURCE_DIRS.map((d) => newestMtime(join(root, d))), ...SOURCE_FILES.map((f) => newestMtime(join(root, f))))
  if (oldestOutput() > sources) return
  console.log('[setup] dist/ is missing or older than the sources: npm run build')
  const started = Date.now()
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'build/build.ts'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  // A failed build removes its outputs, so the executable tests then fail on the missing file, not on a stale one.
  if (r.status !== 0) console.log(`[setup] the build failed (exit ${r.status ?? r.signal}): the executable tests will fail`)
  else console.log(`[setup] built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

export async function runSetups (files: string[]): Promise<void> {
  if (files.some((f) => f.split(/[\\/]/).slice(0, 2).join('/') === 'test/executable')) await buildExecutables()
}
