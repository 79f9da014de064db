import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fetchPackage } from './fetch.ts'
import { mib, step } from './log.ts'
import { NODE_VERSION } from './pins.ts'
import { runnerFor, type Target } from './targets.ts'

/** The official Node binary of the pinned version for the target, from the npm package `node-linux-<arch>`. */
export function officialNode (t: Target): string {
  // Without the 67 MB of C headers the package carries for addon builds.
  return join(fetchPackage(`node-${t.name}`, NODE_VERSION, { exclude: ['include'] }), 'bin', 'node')
}

function has (tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0
}

/** Strippers that understand the target's machine code: the cross binutils first, then the host's own. */
function stripTools (t: Target): string[] {
  const tools = [`${t.triple}-strip`]
  if (t.arch === process.arch) tools.push('strip')
  tools.push('llvm-strip')
  return tools.filter(has)
}

/** Runs `node -p process.arch` (natively, or under qemu for the other arch); undefined when it cannot run here. */
export function smokeNode (t: Target, node: string): boolean | undefined {
  const runner = runnerFor(t.arch)
  if (runner === undefined) return undefined
  const [cmd, ...pre] = [...runner, node]
  const r = spawnSync(cmd!, [...pre, '-p', 'process.arch'], { encoding: 'utf8', timeout: 60_000 })
  return r.status === 0 && r.stdout.trim() === t.arch
}

/**
 * The Node binary to inject into: the official one with its symbols stripped (~18 MiB less), when the
 * stripped binary still runs; otherwise (no strip tool for the arch, or a broken result) the official one, said
 * in the log. Cached next to the unpacked package.
 */
export function baseNode (t: Target): { path: string; stripped: boolean } {
  const official = officialNode(t)
  const stripped = `${official}.stripped`
  const unusable = `${official}.strip-failed`
  if (existsSync(stripped)) return { path: stripped, stripped: true }
  if (existsSync(unusable)) {
    step(`${t.name}: not stripping (an earlier build found the stripped binary broken; delete ${unusable} to retry)`)
    return { path: official, stripped: false }
  }
  const tools = stripTools(t)
  if (tools.length === 0) {
    step(`${t.name}: not stripping: no strip for ${t.triple} (Debian: binutils-${t.triple.replace('_', '-')})`)
    return { path: official, stripped: false }
  }
  const temp = `${stripped}.${process.pid}.tmp`
  copyFileSync(official, temp)
  const r = spawnSync(tools[0]!, ['--strip-all', temp], { encoding: 'utf8' })
  const runs = r.status === 0 ? smokeNode(t, temp) : false
  if (runs === false) {
    step(`${t.name}: not stripping: ${tools[0]} ${r.status === 0 ? 'made a binary that does not run' : `failed: ${r.stderr.trim()}`}`)
    writeFileSync(unusable, `${tools[0]}\n`)
    return { path: official, stripped: false }
  }
  renameSync(temp, stripped)
  step(`${t.name}: stripped Node ${NODE_VERSION} with ${tools[0]}: ${mib(statSync(official).size)} -> ${mib(statSync(stripped).size)}${runs === undefined ? ' (not run: no qemu here)' : ''}`)
  return { path: stripped, stripped: true }
}
