/** Totals over many rounds, and the table the CLI and the test print. */
import { KINDS, addFigures, noFigures, type Figures, type Kind } from './checks.ts'
import type { RoundReport } from './round.ts'

export interface Summary {
  rounds: number
  failedRounds: Array<{ seed: number; durability: string; failures: string[] }>
  /** Failed before the kill (the runtime did not start, …): counted as failures, but nothing was checked. */
  abortedBeforeKill: number
  kinds: Record<Kind, Figures>
  atomicityViolations: number
  ms: number
}

export function summarize (reports: readonly RoundReport[]): Summary {
  const kinds = Object.fromEntries(KINDS.map((k) => [k, noFigures()])) as Record<Kind, Figures>
  let atomicityViolations = 0; let ms = 0
  for (const r of reports) {
    for (const k of KINDS) addFigures(kinds[k], r.kinds[k])
    atomicityViolations += r.atomicityViolations; ms += r.ms
  }
  const failedRounds = reports.filter((r) => r.failures.length > 0).map((r) => ({ seed: r.seed, durability: r.durability, failures: r.failures }))
  const abortedBeforeKill = reports.filter((r) => !r.reachedKill).length
  return { rounds: reports.length, failedRounds, abortedBeforeKill, kinds, atomicityViolations, ms }
}

/** One line per round: what was acknowledged and checked, and what broke. */
export function roundLine (r: RoundReport): string {
  const k = r.kinds
  const ledger = r.ledgerAfterDrain === undefined ? 'n/a' : `${r.ledgerAfterDrain.accepted}=${r.ledgerAfterDrain.delivered}+${r.ledgerAfterDrain.dropped}+${r.ledgerAfterDrain.queued}`
  return `  seed=${r.seed} ${r.durability} ${r.ms} ms: publish ${k.publish.acked} acked/${k.publish.checked} checked, retained ${k.retained.checked}, ` +
    `state ${k.state.acked} writes/${k.state.checked} keys, forward ${k.forward.acked}; lost ${KINDS.reduce((a, x) => a + k[x].lost, 0)}, ` +
    `order ${k.publish.orderViolations + k.forward.orderViolations}, dup ${k.publish.duplicates + k.forward.duplicates}; ledger ${ledger}; db ${String(r.dbEntries)} entries` +
    (r.failures.length > 0 ? ` — FAILED: ${r.failures.length} problem(s)` : '')
}

export function formatSummary (s: Summary): string {
  const rows = KINDS.map((k) => {
    const f = s.kinds[k]
    return `  ${k.padEnd(9)} ${String(f.acked).padStart(8)} ${String(f.checked).padStart(8)} ${String(f.lost).padStart(6)} ${String(f.orderViolations).padStart(6)} ${String(f.duplicates).padStart(6)}`
  })
  const lines = [
    `rounds: ${s.rounds} (${s.failedRounds.length} failed, ${s.abortedBeforeKill} of them before the kill), ${(s.ms / 1000).toFixed(1)} s`,
    `  kind         acked  checked   lost  order    dup`,
    ...rows,
    `  state transactions applied partly: ${s.atomicityViolations}`,
  ]
  for (const f of s.failedRounds) lines.push(`FAILED seed=${f.seed} durability=${f.durability}:`, ...f.failures.map((x) => `  - ${x}`))
  return lines.join('\n')
}
