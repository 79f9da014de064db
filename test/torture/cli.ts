/**
 * Long torture runs: `npm run torture -- --rounds N --seed S [--durability process|power]`.
 * Round i uses seed S+i (replay one with `--rounds 1 --seed <its seed>`); without --durability the rounds
 * alternate process/power. Prints a line per round and a summary; exits 1 on any loss or violation.
 */
import { parseArgs } from 'node:util'
import { runRound, type Durability, type RoundReport } from './round.ts'
import { formatSummary, roundLine, summarize } from './summary.ts'
import { cleanupTmp } from '../helpers/tmp.ts'

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, seed: { type: 'string' }, durability: { type: 'string' } },
  strict: true,
})
const rounds = Number(values.rounds)
const seed0 = values.seed === undefined ? (Date.now() % 1_000_000) : Number(values.seed)
const only = values.durability
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(seed0) || seed0 < 0 || (only !== undefined && only !== 'process' && only !== 'power')) {
  console.error('usage: npm run torture -- --rounds N --seed S [--durability process|power]')
  process.exit(2)
}

const reports: RoundReport[] = []
try {
  for (let i = 0; i < rounds; i++) {
    const durability: Durability = only === undefined ? (i % 2 === 0 ? 'process' : 'power') : only as Durability
    const r = await runRound({ seed: seed0 + i, durability })
    reports.push(r)
    console.log(roundLine(r))
    for (const f of r.failures) console.log(`    - ${f}`)
  }
} finally {
  await cleanupTmp()
}
const s = summarize(reports)
console.log(formatSummary(s))
const broken = s.failedRounds.length > 0
process.exit(broken ? 1 : 0)
