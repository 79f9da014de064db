/**
 * `npm run bench`: every benchmark in turn, each in its own process, each printing a table of figures next to
 * its anchor (mosquitto, its bridge, classic-level, plain node) measured in the same run. Never part of npm test.
 *   npm run bench [-- broker state cloud executable pubsub]
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const ALL = ['broker', 'state', 'cloud-bridge', 'pubsub', 'executable']
const wanted = process.argv.slice(2)
const names = wanted.length === 0 ? ALL : ALL.filter((n) => wanted.some((w) => n.includes(w)))
let failed = 0
for (const name of names) {
  const file = join(import.meta.dirname, `${name}.ts`)
  if (!existsSync(file)) { console.log(`\n## ${name}: no benchmark yet`); continue }
  console.log(`\n## ${name}`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit', cwd: join(import.meta.dirname, '..'), timeout: 15 * 60_000 })
  if (r.status !== 0) { failed++; console.log(`(${name} failed: exit ${r.status ?? r.signal})`) }
}
process.exitCode = failed > 0 ? 1 : 0
