/**
 * `npm run bench`: every benchmark in turn, each in its own process under a time limit, then ONE table of every
 * figure next to its anchor measured in the same run, with the ratio and which direction is better; written as
 * JSON and Markdown under bench/results/ (or `--out DIR`).
 *   npm run bench [-- [--smoke] [--out DIR] [name …]]      e.g. npm run bench -- broker   npm run bench -- --smoke
 * `--smoke` runs tiny counts (a second or two per benchmark): npm test runs it (test/bench/smoke.test.ts) to
 * check that every benchmark still produces its rows; its figures mean nothing.
 * `--profile` makes every runtime the benchmarks start write a V8 CPU profile under
 * bench/results/profiles/<benchmark>/ (bench/lib/mecha.ts); `bench/lib/profile-summary.ts` reads them.
 */
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { markdownTable, type Row } from './lib/report.ts'
import { mechaCommand } from './lib/mecha.ts'

interface Bench { name: string; file: string; fullSec: number; smokeSec: number; what: string }
const BENCHES: Bench[] = [
  { name: 'broker', file: 'broker.ts', fullSec: 300, smokeSec: 60, what: 'MQTT broker against mosquitto 2' },
  { name: 'cloud-bridge', file: 'cloud-bridge.ts', fullSec: 240, smokeSec: 60, what: 'cloud forwarding against a mosquitto → mosquitto bridge' },
  { name: 'state', file: 'state.ts', fullSec: 120, smokeSec: 45, what: 'Dapr state API against classic-level' },
  { name: 'pubsub', file: 'pubsub.ts', fullSec: 120, smokeSec: 45, what: 'Dapr publish API against MQTT.js pub/sub' },
  { name: 'executable', file: 'executable.ts', fullSec: 200, smokeSec: 60, what: 'footprint against mosquitto 2' },
  { name: 'devices', file: 'devices.ts', fullSec: 90, smokeSec: 45, what: 'serial lines/s against the baud-rate limit' },
  { name: 'modbus', file: 'modbus.ts', fullSec: 60, smokeSec: 30, what: 'Modbus TCP points/s next to mbpoll' },
  { name: 'fleet', file: 'fleet.ts', fullSec: 780, smokeSec: 60, what: 'N gateways through their bridges to one cloud broker (mosquitto 2, a RabbitMQ cluster), outage and reconnect storm' },
]
/**
 * The whole full suite must finish in 15 minutes on a 2-core machine (issue 15): a benchmark gets at most what
 * is left of it, and one that would start with less than 20 s left is skipped. The fleet comes last and needs
 * about 8½ of the 15 minutes; the others together about 2½ (663 s in all, measured on 2 shared cores).
 */
const SUITE_BUDGET_MS = 15 * 60_000 - 10_000

const argv = process.argv.slice(2)
const smoke = argv.includes('--smoke')
const profile = argv.includes('--profile')
const outIdx = argv.indexOf('--out')
const outDir = outIdx >= 0 ? argv[outIdx + 1]! : join(import.meta.dirname, 'results')
const words = argv.filter((a, i) => !a.startsWith('--') && !(outIdx >= 0 && i === outIdx + 1))
const selected = words.length === 0 ? BENCHES : BENCHES.filter((b) => words.some((w) => b.name.includes(w)))
if (selected.length === 0) {
  console.error(`no benchmark matches ${words.join(' ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`)
  process.exit(2)
}

interface Outcome { name: string; code: number | null; ms: number; rows: Row[]; error?: string }

function runOne (b: Bench, budgetMs: number): Promise<Outcome> {
  const started = Date.now()
  const limitMs = Math.min(budgetMs, (smoke ? b.smokeSec : b.fullSec) * 1000)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, b.file), ...(smoke ? ['--smoke'] : []), ...(profile ? ['--profile'] : [])], {
      cwd: join(import.meta.dirname, '..'),
      // The deadline lets a long benchmark (the fleet) skip what it cannot finish rather than be killed midway.
      env: { ...process.env, MECHA_BENCH_CHILD: '1', MECHA_BENCH_NAME: b.name, MECHA_BENCH_DEADLINE: String(started + limitMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const rows: Row[] = []
    let tail = ''
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('@@row ')) rows.push(JSON.parse(line.slice(6)) as Row)
      else process.stderr.write(`  ${line}\n`)
    })
    child.stderr.on('data', (d: Buffer) => { process.stderr.write(d); tail = (tail + d.toString()).slice(-4000) })
    let timedOut = false
    // SIGTERM lets the benchmark SIGKILL its own children (bench/lib/child.ts); SIGKILL if it does not exit.
    const term = setTimeout(() => { timedOut = true; child.kill('SIGTERM') }, limitMs)
    const kill = setTimeout(() => { child.kill('SIGKILL') }, limitMs + 5000)
    child.on('close', (code) => {
      clearTimeout(term); clearTimeout(kill)
      const error = timedOut ? `exceeded its ${Math.round(limitMs / 1000)} s limit` : code !== 0 ? `exit ${code}: ${tail.trim().split('\n').slice(-3).join(' / ')}` : undefined
      resolve({ name: b.name, code, ms: Date.now() - started, rows, ...(error === undefined ? {} : { error }) })
    })
  })
}

const suiteStart = Date.now()
const outcomes: Outcome[] = []
for (const b of selected) {
  const left = SUITE_BUDGET_MS - (Date.now() - suiteStart)
  if (left < 20_000) {
    outcomes.push({ name: b.name, code: null, ms: 0, rows: [], error: 'skipped: the suite time budget is spent' })
    continue
  }
  process.stderr.write(`\n## ${b.name}: ${b.what}${smoke ? ' (smoke)' : ''}\n`)
  const o = await runOne(b, left)
  outcomes.push(o)
  process.stderr.write(`## ${b.name}: ${o.rows.length} rows in ${(o.ms / 1000).toFixed(1)} s${o.error === undefined ? '' : ` — ${o.error}`}\n`)
}

const rows = outcomes.flatMap((o) => o.rows)
const failures = outcomes.filter((o) => o.error !== undefined || o.rows.length === 0)
const meta = {
  when: new Date().toISOString(),
  smoke,
  node: process.version,
  mecha: mechaCommand().what,
  cpus: cpus().length,
  loadavgAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
  totalSeconds: Number(((Date.now() - suiteStart) / 1000).toFixed(1)),
  benches: outcomes.map((o) => ({ name: o.name, seconds: Number((o.ms / 1000).toFixed(1)), rows: o.rows.length, ...(o.error === undefined ? {} : { error: o.error }) })),
}
const md = [
  `# Mecha benchmarks${smoke ? ' (smoke run: tiny counts, the figures mean nothing)' : ''}`,
  '',
  `${meta.when}; node ${meta.node}; ${meta.cpus} CPUs, load average at the end ${meta.loadavgAtEnd.join(' ')}; Mecha ran as ${meta.mecha}; ${meta.totalSeconds} s in all.`,
  '"Mecha / anchor" is the raw ratio of the two figures; "better" says which direction wins; the verdict reads it for you. See bench/README.md.',
  '',
  markdownTable(rows),
  '',
  ...outcomes.map((o) => `- ${o.name}: ${o.rows.length} rows, ${(o.ms / 1000).toFixed(1)} s${o.error === undefined ? '' : ` — ${o.error}`}`),
  '',
].join('\n')
await mkdir(outDir, { recursive: true })
const stem = smoke ? 'smoke' : 'latest'
await writeFile(join(outDir, `${stem}.json`), JSON.stringify({ meta, rows }, null, 2) + '\n')
await writeFile(join(outDir, `${stem}.md`), md)
console.log('\n' + md)
console.log(`written: ${join(outDir, `${stem}.json`)} and ${stem}.md`)
process.exitCode = failures.length > 0 ? 1 : 0
