/**
 * The test runner behind `npm test`: runs every `test/**\/*.test.ts` file in its own Node process (a crash or
 * a leaked handle in one file cannot hide another's result), two at a time on CI's two cores, each under a
 * time limit, then prints one closing line `N passed, N failed, N skipped`.
 * `npm test -- broker state` runs only the files whose path contains one of the words.
 * Files understand uvu's summary and node:test's (the aedes-persistence abstract suite uses node:test).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpus, tmpdir } from 'node:os'
import { runSetups } from './setup.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const FILE_TIMEOUT_MS = Number(process.env.MECHA_TEST_FILE_TIMEOUT_MS ?? 300_000)
const JOBS = Number(process.env.MECHA_TEST_JOBS ?? Math.max(1, Math.min(2, cpus().length)))

async function findTests (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await findTests(p))
    else if (/\.test\.(ts|js|mjs|cjs)$/.test(entry.name)) out.push(p)
  }
  return out.sort()
}

interface Result { file: string; passed: number; failed: number; skipped: number; code: number | null; output: string; ms: number }

/** The `seed=N` / `seed: N` values a randomized test printed, so a failure can be replayed. */
function seeds (output: string): string[] {
  const found = new Set<string>()
  for (const m of strip(output).matchAll(/\bseed(?:=|:[ \t]*)([\w.-]+)/gi)) found.add(m[1])
  return [...found]
}

/**
 * Children the file registered (test/helpers/children.ts writes `+pid group|pid label` and `-pid` lines) and
 * still running when it ended: a detached child (a runtime, in its own process group) escapes the kill of the
 * file's group, and a file killed at its time limit had no chance to kill them itself.
 */
async function killLeftovers (ledger: string): Promise<string[]> {
  let text = ''
  try { text = await readFile(ledger, 'utf8') } catch { return [] }
  const alive = new Map<number, { group: boolean; label: string }>()
  for (const line of text.split('\n')) {
    const m = /^([+-])(\d+)(?: (group|pid) (.*))?$/.exec(line)
    if (m === null) continue
    if (m[1] === '+') alive.set(Number(m[2]), { group: m[3] === 'group', label: m[4] ?? '' }); else alive.delete(Number(m[2]))
  }
  const killed: string[] = []
  for (const [pid, c] of alive) {
    let hit = false
    try { process.kill(c.group ? -pid : pid, 'SIGKILL'); hit = true } catch {}
    if (hit) killed.push(`${c.label} (pid ${pid})`)
  }
  return killed
}

const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '')

function parse (output: string): { passed: number; failed: number; skipped: number; found: boolean } {
  const text = strip(output)
  let passed = 0; let failed = 0; let skipped = 0; let found = false
  // uvu prints one summary per process; node:test prints "# pass N" lines.
  for (const m of text.matchAll(/^\s*Total:\s+(\d+)\s*\n\s*Passed:\s+(\d+)\s*\n\s*Skipped:\s+(\d+)/gm)) {
    found = true
    const total = Number(m[1]); const ok = Number(m[2]); const skip = Number(m[3])
    passed += ok; skipped += skip; failed += Math.max(0, total - ok - skip)
  }
  const pass = /^# pass (\d+)$/m.exec(text); const fail = /^# fail (\d+)$/m.exec(text); const skip = /^# skipped (\d+)$/m.exec(text)
  if (pass !== null) { found = true; passed += Number(pass[1]); failed += Number(fail?.[1] ?? 0); skipped += Number(skip?.[1] ?? 0) }
  return { passed, failed, skipped, found }
}

async function runFile (file: string): Promise<Result> {
  const started = Date.now()
  const ledgerDir = await mkdtemp(join(tmpdir(), 'mecha-run-'))
  const ledger = join(ledgerDir, 'children')
  const r = await new Promise<Result>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', MECHA_TEST_CHILDREN_FILE: ledger },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => { output += d.toString() })
    child.stderr.on('data', (d: Buffer) => { output += d.toString() })
    const timer = setTimeout(() => {
      output += `\n[runner] ${relative(root, file)} exceeded ${FILE_TIMEOUT_MS} ms: killed\n`
      try { process.kill(-child.pid!, 'SIGKILL') } catch {}
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      // Whatever a file left running (a spawned runtime, a broker) goes with it.
      try { process.kill(-child.pid!, 'SIGKILL') } catch {}
      const r = parse(output)
      let failed = r.failed
      if (code !== 0 && failed === 0) failed = 1 // crashed before or after its summary
      if (!r.found && code === 0) failed = 1 // ran nothing: that is a defect, not a pass
      resolve({ file, passed: r.passed, failed, skipped: r.skipped, code, output, ms: Date.now() - started })
    })
  })
  const killed = await killLeftovers(ledger)
  if (killed.length > 0) r.output += `\n[runner] killed what ${relative(root, file)} left running: ${killed.join(', ')}\n`
  await rm(ledgerDir, { recursive: true, force: true })
  return r
}

async function main (): Promise<void> {
  const words = process.argv.slice(2)
  let files = await findTests(join(root, 'test'))
  if (words.length > 0) files = files.filter((f) => words.some((w) => relative(root, f).includes(w)))
  await runSetups(files.map((f) => relative(root, f)))
  const queue = [...files]
  const results: Result[] = []
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const r = await runFile(f)
      results.push(r)
      const status = r.failed > 0 ? 'FAIL' : 'ok  '
      // A failing randomized test names its seed on the summary line itself, where it cannot scroll away.
      const seed = r.failed > 0 ? seeds(r.output) : []
      const seedNote = seed.length > 0 ? `  seed=${seed.join(', seed=')}` : ''
      console.log(`${status} ${relative(root, f)}  (${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped, ${(r.ms / 1000).toFixed(1)} s)${seedNote}`)
      if (r.failed > 0 || process.env.MECHA_TEST_VERBOSE === '1') console.log(r.output.split('\n').map((l) => '    | ' + l).join('\n'))
    }
  }
  await Promise.all(Array.from({ length: JOBS }, worker))
  const sum = (k: 'passed' | 'failed' | 'skipped'): number => results.reduce((a, r) => a + r[k], 0)
  console.log(`\n${results.length} test files`)
  console.log(`${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`)
  process.exitCode = sum('failed') > 0 || results.length === 0 ? 1 : 0
}

await main()
