/**
 * One row format for every benchmark, and the one table bench/run.ts prints. A benchmark calls `row()` for each
 * figure; under bench/run.ts (MECHA_BENCH_CHILD=1) rows go to stdout as `@@row {json}` lines, which run.ts
 * collects; run standalone, the benchmark prints its own table at `finish()`.
 */
export type Better = 'higher' | 'lower'

export interface Row {
  bench: string
  metric: string
  unit: string
  better: Better
  /** Mecha's figure; undefined when it was skipped (`skip` says why). */
  mecha?: number
  /** The anchor's figure, measured in the same run; undefined when skipped (`anchorSkip` says why). */
  anchor?: number
  /** What the anchor is (mosquitto 2, its bridge, classic-level …). */
  anchorName: string
  /** Why this row has no Mecha figure. */
  skip?: string
  /** Why this row has no anchor figure (e.g. the anchor is not installed). */
  anchorSkip?: string
  note?: string
}

export const SMOKE = process.argv.includes('--smoke') || process.env.MECHA_BENCH_SMOKE === '1'
const UNDER_RUN = process.env.MECHA_BENCH_CHILD === '1'
const rows: Row[] = []

export function row (r: Row): void {
  const clean: Row = { ...r }
  if (clean.mecha !== undefined && !Number.isFinite(clean.mecha)) { clean.skip ??= 'no figure (measurement failed)'; delete clean.mecha }
  if (clean.anchor !== undefined && !Number.isFinite(clean.anchor)) { clean.anchorSkip ??= 'no figure (measurement failed)'; delete clean.anchor }
  rows.push(clean)
  if (UNDER_RUN) process.stdout.write(`@@row ${JSON.stringify(clean)}\n`)
}

/** Progress for humans, on stderr (run.ts passes it through). */
export function progress (msg: string): void { process.stderr.write(`  ${msg}\n`) }

export function finish (): void {
  if (!UNDER_RUN) console.log('\n' + markdownTable(rows))
}

/** Mecha / anchor for "higher is better", anchor / Mecha for "lower is better": > 1 means Mecha is better. */
export function score (r: Row): number | undefined {
  if (r.mecha === undefined || r.anchor === undefined) return undefined
  if (r.mecha === r.anchor) return 1
  // 0 and Infinity stay: the verdict names the winner without a factor.
  return r.better === 'higher' ? r.mecha / r.anchor : r.anchor / r.mecha
}

export function fmt (n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–'
  const a = Math.abs(n)
  if (a >= 1000) return Math.round(n).toString()
  if (a >= 100) return n.toFixed(0)
  if (a >= 10) return n.toFixed(1)
  if (a >= 1) return n.toFixed(2)
  if (a === 0) return '0'
  return n.toPrecision(2)
}

function verdict (r: Row): string {
  const s = score(r)
  if (s === undefined || Number.isNaN(s)) return ''
  if (s === 0 || !Number.isFinite(s)) return s === 0 ? 'anchor better' : 'Mecha better'
  if (s >= 0.995 && s <= 1.005) return 'equal'
  return s > 1 ? `Mecha ${s.toFixed(2)}× better` : `Mecha ${(1 / s).toFixed(2)}× worse`
}

export function markdownTable (all: Row[]): string {
  const head = ['benchmark', 'figure', 'unit', 'better', 'Mecha', 'anchor', 'anchor value', 'Mecha / anchor', 'verdict', 'note']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i >= 4 && i <= 7 ? '---:' : '---')).join('|')}|`]
  for (const r of all) {
    const ratio = r.mecha !== undefined && r.anchor !== undefined && r.anchor !== 0 ? (r.mecha / r.anchor).toFixed(3) : '–'
    const notes = [r.skip !== undefined ? `Mecha skipped: ${r.skip}` : '', r.anchorSkip !== undefined ? `anchor skipped: ${r.anchorSkip}` : '', r.note ?? ''].filter((s) => s !== '')
    const cells = [r.bench, r.metric, r.unit, r.better === 'higher' ? '↑ higher' : '↓ lower', fmt(r.mecha), r.anchorName, fmt(r.anchor), ratio, verdict(r), notes.join('; ')]
    lines.push(`| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)
  }
  return lines.join('\n')
}

/** `--name value` from argv, as a number, with a full-run and a smoke default. */
export function numArg (name: string, full: number, smoke: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i >= 0 && process.argv[i + 1] !== undefined) return Number(process.argv[i + 1])
  return SMOKE ? smoke : full
}
