/**
 * Reads V8 CPU profiles (`.cpuprofile`, written by `node --cpu-prof`; `npm run bench -- <name> --profile` makes
 * every runtime a benchmark starts write one) and prints where the time went:
 *  - by part: self time grouped by where the code lives (our core/, edge/, cloud-bridge/ …, each package in
 *    node_modules, Node's own internals, the garbage collector, idle) — the first answer to "what bounds it";
 *  - the top frames by self time (the function that was on the CPU) and by inclusive time (on the stack).
 * Several files (a directory) are summed; idle time is left out of the percentages, so they are of busy time.
 *   node --import tsx bench/lib/profile-summary.ts <file.cpuprofile | dir> … [--top N] [--match TEXT] [--under TEXT] [--bundle FILE]
 * `--match` keeps only the profiles whose file name contains TEXT; `--under TEXT` only the samples with a frame
 * whose name contains TEXT on the stack (one path through the runtime, e.g. `grpc/server.ts` or `routes/state`).
 * The SEA executable runs one esbuild bundle, so its frames all name `mecha.cjs`; esbuild heads each module with
 * a `// <path>` comment, and dist/bundle.cjs is the same script, so frames are mapped back to their module
 * (`--bundle FILE` to name another bundle). Only right when the bundle is the one the executable was built with.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Frame { key: string; selfMs: number; totalMs: number }
export interface Summary { files: number; totalMs: number; idleMs: number; busyMs: number; parts: Array<{ part: string; selfMs: number }>; frames: Frame[] }

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)'])

/** Where a frame's code lives: a package, one of our folders, Node's internals, or a V8 pseudo-frame. */
export function partOf (cf: CallFrame): string {
  if (SPECIAL.has(cf.functionName)) return cf.functionName
  const url = cf.url
  if (url === '') return '(native / V8 builtins)'
  if (url.startsWith('node:')) return 'node internals'
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return `pkg ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`
  }
  for (const dir of ['core', 'edge', 'cloud-bridge', 'devices']) if (url.includes(`/${dir}/`)) return `ours ${dir}/`
  // A bundle frame that no module comment maps (see mapBundle).
  if (/(?:mecha|bundle)\.cjs$/.test(url)) return 'bundle (unmapped)'
  return url.split('/').slice(-2).join('/')
}

function frameKey (cf: CallFrame): string {
  if (SPECIAL.has(cf.functionName)) return cf.functionName
  const file = cf.url === '' ? '(native)' : cf.url.startsWith('node:') ? cf.url : cf.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/')
  return `${cf.functionName === '' ? '(anonymous)' : cf.functionName} ${file}:${cf.lineNumber + 1}`
}

/** Line → module path of an esbuild bundle, from its `// <path>` module comments. */
export function bundleModules (file: string): (line: number) => string | undefined {
  const starts: Array<[number, string]> = []
  readFileSync(file, 'utf8').split('\n').forEach((l, i) => {
    if (/^\/\/ [\w@.-][^ ]*\.(?:[cm]?[jt]s|json)$/.test(l)) starts.push([i, l.slice(3)])
  })
  return (line) => {
    let lo = 0; let hi = starts.length - 1; let found: string | undefined
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (starts[mid]![0] <= line) { found = starts[mid]![1]; lo = mid + 1 } else hi = mid - 1 }
    return found
  }
}

/** Rewrites the bundle's frames to name their module (`/node_modules/x/…`, `/core/…`), in place. */
export function mapBundle (profiles: CpuProfile[], moduleAt: (line: number) => string | undefined): void {
  for (const p of profiles) {
    for (const n of p.nodes) {
      const cf = n.callFrame
      if (!/(?:^|\/)(?:mecha\.cjs|bundle\.cjs)$/.test(cf.url)) continue
      const m = moduleAt(cf.lineNumber)
      if (m !== undefined) cf.url = `/${m}`
    }
  }
}

/** `under`: keep only the samples whose stack holds a frame whose key contains this text (one figure's path). */
export function summarize (profiles: CpuProfile[], under?: string): Summary {
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const parts = new Map<string, number>()
  let totalMs = 0; let idleMs = 0
  for (const p of profiles) {
    const byId = new Map<number, ProfileNode>()
    const parent = new Map<number, number>()
    for (const n of p.nodes) { byId.set(n.id, n); for (const c of n.children ?? []) parent.set(c, n.id) }
    // Self time per node: each sample's time delta belongs to the node on top of the stack. V8 stores the
    // delta *before* sample i in timeDeltas[i], so sample i lasted until sample i+1: timeDeltas[i+1].
    const nodeMs = new Map<number, number>()
    for (let i = 0; i < p.samples.length; i++) {
      const ms = (p.timeDeltas[i + 1] ?? 0) / 1000
      nodeMs.set(p.samples[i]!, (nodeMs.get(p.samples[i]!) ?? 0) + ms)
    }
    for (const [id, ms] of nodeMs) {
      const n = byId.get(id)
      if (n === undefined) continue
      totalMs += ms
      if (n.callFrame.functionName === '(idle)') { idleMs += ms; continue }
      if (under !== undefined) {
        let hit = false
        for (let cur: number | undefined = id; cur !== undefined && !hit; cur = parent.get(cur)) hit = frameKey(byId.get(cur)!.callFrame).includes(under)
        if (!hit) { totalMs -= ms; continue }
      }
      const k = frameKey(n.callFrame)
      self.set(k, (self.get(k) ?? 0) + ms)
      const part = partOf(n.callFrame)
      parts.set(part, (parts.get(part) ?? 0) + ms)
      // Inclusive: every distinct frame on this node's stack (a recursive frame counts once per sample).
      const seen = new Set<string>()
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const key = frameKey(byId.get(cur)!.callFrame)
        if (key === '(root)' || seen.has(key)) continue
        seen.add(key)
        total.set(key, (total.get(key) ?? 0) + ms)
      }
    }
  }
  const frames = [...new Set([...self.keys(), ...total.keys()])].map((key) => ({ key, selfMs: self.get(key) ?? 0, totalMs: total.get(key) ?? 0 }))
  return {
    files: profiles.length,
    totalMs,
    idleMs,
    busyMs: totalMs - idleMs,
    parts: [...parts].map(([part, selfMs]) => ({ part, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
    frames,
  }
}

export function loadProfiles (target: string, match?: string): CpuProfile[] {
  const files = statSync(target).isDirectory()
    ? readdirSync(target).filter((f) => f.endsWith('.cpuprofile') && (match === undefined || f.includes(match))).map((f) => join(target, f))
    : [target]
  return files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile)
}

export function formatSummary (s: Summary, top = 15): string {
  const pct = (ms: number): string => `${(s.busyMs > 0 ? (ms / s.busyMs) * 100 : 0).toFixed(1).padStart(5)} %`
  const ms = (x: number): string => `${x.toFixed(0).padStart(7)} ms`
  const lines = [`${s.files} profile(s): ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (${(s.idleMs / 1000).toFixed(1)} s idle); % of busy time`, '', 'self time by part:']
  for (const p of s.parts.slice(0, top)) lines.push(`  ${pct(p.selfMs)} ${ms(p.selfMs)}  ${p.part}`)
  lines.push('', 'top frames by self time:')
  for (const f of [...s.frames].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) lines.push(`  ${pct(f.selfMs)} ${ms(f.selfMs)}  ${f.key}`)
  lines.push('', 'top frames by inclusive time (ours and packages; Node internals and pseudo-frames left out):')
  const inclusive = [...s.frames].filter((f) => !f.key.startsWith('(') && !/ (node:|\(native\))/.test(f.key))
  for (const f of inclusive.sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) lines.push(`  ${pct(f.totalMs)} ${ms(f.totalMs)}  ${f.key}`)
  return lines.join('\n')
}

if (process.argv[1] !== undefined && import.meta.filename === resolve(process.argv[1])) {
  const args = process.argv.slice(2)
  const topIdx = args.indexOf('--top'); const matchIdx = args.indexOf('--match'); const bundleIdx = args.indexOf('--bundle'); const underIdx = args.indexOf('--under')
  const valueAt = new Set([topIdx, matchIdx, bundleIdx, underIdx].filter((i) => i >= 0).map((i) => i + 1))
  const targets = args.filter((a, i) => !a.startsWith('--') && !valueAt.has(i))
  if (targets.length === 0) { console.error('usage: node --import tsx bench/lib/profile-summary.ts <file.cpuprofile | dir> … [--top N] [--match TEXT] [--under TEXT] [--bundle FILE]'); process.exit(2) }
  const profiles = targets.flatMap((t) => loadProfiles(t, matchIdx >= 0 ? args[matchIdx + 1] : undefined))
  if (profiles.length === 0) { console.error(`no .cpuprofile in ${targets.join(' ')}`); process.exit(1) }
  const bundle = bundleIdx >= 0 ? args[bundleIdx + 1]! : join(import.meta.dirname, '..', '..', 'dist', 'bundle.cjs')
  if (existsSync(bundle)) mapBundle(profiles, bundleModules(bundle))
  const s = summarize(profiles, underIdx >= 0 ? args[underIdx + 1] : undefined)
  if (underIdx >= 0) console.log(`only samples with a frame matching "${args[underIdx + 1]}" on the stack; busy % below are of those`)
  console.log(formatSummary(s, topIdx >= 0 ? Number(args[topIdx + 1]) : 15))
}
