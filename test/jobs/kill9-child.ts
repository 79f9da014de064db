/**
 * A child process for test/jobs/kill9.test.ts: a LevelStore on a data dir and a JobScheduler over its `jobs`
 * namespace, as the runtime has them. Modes:
 *   schedule <dataDir> <name> <body-json>   schedules the job, prints "scheduled", then idles until killed;
 *   run <dataDir> <logFile> [hang]           starts the scheduler; each delivery appends a JSON line to logFile
 *                                            and prints "delivered" (with `hang`: prints "delivering" and never
 *                                            answers, as an app that hangs while the runtime is killed).
 */
import { appendFileSync } from 'node:fs'
import { LevelStore } from '../../core/store/index.ts'
import { JobScheduler, jobSpecFromRequest } from '../../core/jobs/index.ts'

const [mode, dataDir, arg, extra] = process.argv.slice(2)
const store = await LevelStore.create({ dataDir: dataDir! })
const keepAlive = setInterval(() => {}, 1000)
// Bounded: a child the parent forgot never outlives the test by long.
setTimeout(() => { process.exit(3) }, 60_000).unref()

if (mode === 'schedule') {
  const sched = await JobScheduler.create({ namespace: store.namespace('jobs'), deliver: async () => {} })
  await sched.schedule(jobSpecFromRequest('app', arg!, JSON.parse(extra!)))
  process.stdout.write('scheduled\n')
} else if (mode === 'run') {
  const sched = await JobScheduler.create({
    namespace: store.namespace('jobs'),
    deliver: async (job) => {
      appendFileSync(arg!, JSON.stringify({ name: job.name, dueAt: job.dueAt, now: Date.now(), attempt: job.attempt, data: job.data, pid: process.pid }) + '\n')
      if (extra === 'hang') { process.stdout.write('delivering\n'); await new Promise(() => {}) }
      process.stdout.write('delivered\n')
    },
  })
  sched.start()
  process.stdout.write('started\n')
} else {
  clearInterval(keepAlive)
  throw new Error(`unknown mode ${mode}`)
}
