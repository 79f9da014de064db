import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, type Server } from 'node:http'
import type { FastifyRequest } from 'fastify'
import { ManualClock } from '../../core/clock.ts'
import { createLogger } from '../../core/logger.ts'
import { JobScheduler, jobCallbackRequest, type DueJob } from '../../core/jobs/index.ts'
import { MemoryStore, type Store } from '../../core/store/index.ts'
import { ApiServer } from '../../edge/api/server.ts'
import { jobRoutes } from '../../edge/api/routes/jobs.ts'

const T0 = Date.parse('2024-01-01T00:00:00.000Z')

interface Ctx {
  clock: ManualClock
  store: Store
  sched: JobScheduler
  api: ApiServer
  delivered: DueJob[]
  deliver: (job: DueJob) => Promise<void>
}

const test = suite<Ctx>('jobs routes')

test.before.each(async (ctx) => {
  ctx.clock = new ManualClock(T0)
  ctx.store = await MemoryStore.create()
  ctx.delivered = []
  ctx.deliver = async (job) => { ctx.delivered.push(job) }
  ctx.sched = await JobScheduler.create({ namespace: ctx.store.namespace('jobs'), clock: ctx.clock, deliver: async (job) => { await ctx.deliver(job) } })
  ctx.sched.start()
  const appIdFor = (req: FastifyRequest): string => {
    const h = req.headers['dapr-app-id']
    return typeof h === 'string' && h !== '' ? h : 'test-gw'
  }
  ctx.api = await ApiServer.create({ host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, log: createLogger({ level: 'silent' }), token: 'tok' },
    [(app) => jobRoutes(app, { jobs: ctx.sched, appIdFor })])
})
test.after.each(async (ctx) => {
  await ctx.api.close()
  await ctx.sched.close()
  await ctx.store.close()
})

const H = { 'dapr-api-token': 'tok', 'content-type': 'application/json' }
const post = (ctx: Ctx, name: string, body: unknown, headers: Record<string, string> = {}) =>
  ctx.api.app.inject({ method: 'POST', url: `/v1.0-alpha1/jobs/${name}`, headers: { ...H, ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) })
const get = (ctx: Ctx, name: string, headers: Record<string, string> = {}) => ctx.api.app.inject({ method: 'GET', url: `/v1.0-alpha1/jobs/${name}`, headers: { ...H, ...headers } })
const del = (ctx: Ctx, name: string) => ctx.api.app.inject({ method: 'DELETE', url: `/v1.0-alpha1/jobs/${name}`, headers: H })

async function settle (ctx: Ctx, ms: number): Promise<void> {
  ctx.clock.advance(ms)
  for (let i = 0; i < 5; i++) { await ctx.sched.idle(); ctx.clock.advance(0) }
}

test('jobs api - schedule (204), get (Dapr shape), delete (204), then 404', async (ctx) => {
  const r = await post(ctx, 'jobforjabba', { data: { value: 'Running spice' }, schedule: '@every 1m', repeats: 5 })
  assert.is(r.statusCode, 204, r.body)
  const g = await get(ctx, 'jobforjabba')
  assert.is(g.statusCode, 200)
  assert.equal(g.json(), { name: 'jobforjabba', schedule: '@every 1m', repeats: 5, data: { value: 'Running spice' } })
  assert.is((await del(ctx, 'jobforjabba')).statusCode, 204)
  const gone = await get(ctx, 'jobforjabba')
  assert.is(gone.statusCode, 404)
  assert.equal(gone.json(), { errorCode: 'ERR_JOBS_NOT_FOUND', message: 'job jobforjabba not found' })
  assert.is((await del(ctx, 'jobforjabba')).statusCode, 204, 'delete is idempotent')
})

test('jobs api - the Dapr docs example: a string data and a dueTime', async (ctx) => {
  assert.is((await post(ctx, 'j1', { data: 'some data', dueTime: '30s' })).statusCode, 204)
  assert.equal((await get(ctx, 'j1')).json(), { name: 'j1', dueTime: '30s', data: 'some data' })
  await settle(ctx, 30_000)
  assert.equal(ctx.delivered.map((j) => [j.name, j.data]), [['j1', 'some data']])
})

test('jobs api - an existing job is a 409 unless overwrite is true', async (ctx) => {
  assert.is((await post(ctx, 'dup', { dueTime: '1h', data: 1 })).statusCode, 204)
  const again = await post(ctx, 'dup', { dueTime: '1h', data: 2 })
  assert.is(again.statusCode, 409)
  assert.is(again.json().errorCode, 'ERR_SCHEDULE_JOB')
  assert.match(again.json().message, 'already exists')
  assert.is((await post(ctx, 'dup', { dueTime: '1h', data: 3, overwrite: true })).statusCode, 204)
  assert.is((await get(ctx, 'dup')).json().data, 3)
})

test('jobs api - malformed requests are 400 with a clear message', async (ctx) => {
  const cases: Array<[unknown, string, string]> = [
    [{ data: 1 }, 'ERR_MALFORMED_JOB', 'schedule or a dueTime'],
    [{ schedule: '61 * * * * *' }, 'ERR_MALFORMED_JOB', 'invalid schedule "61 * * * * *"'],
    [{ dueTime: 'yesterday' }, 'ERR_MALFORMED_JOB', 'dueTime'],
    [{ schedule: '@every 1s', repeats: 'many' }, 'ERR_MALFORMED_JOB', 'repeats'],
    ['{not json', 'ERR_MALFORMED_REQUEST', 'invalid JSON'],
    [[1, 2], 'ERR_MALFORMED_REQUEST', 'JSON object'],
  ]
  for (const [body, code, why] of cases) {
    const r = await post(ctx, 'bad', body)
    assert.is(r.statusCode, 400, `${JSON.stringify(body)} → ${r.body}`)
    assert.is(r.json().errorCode, code, r.body)
    assert.match(r.json().message, why)
  }
  assert.is(ctx.sched.size, 0, 'nothing was stored')
})

test('jobs api - jobs are per app: another app neither sees nor deletes them', async (ctx) => {
  assert.is((await post(ctx, 'mine', { dueTime: '1h' }, { 'dapr-app-id': 'a' })).statusCode, 204)
  assert.is((await get(ctx, 'mine', { 'dapr-app-id': 'b' })).statusCode, 404)
  assert.is((await get(ctx, 'mine', { 'dapr-app-id': 'a' })).statusCode, 200)
})

test('jobs api - the token is required', async (ctx) => {
  const r = await ctx.api.app.inject({ method: 'GET', url: '/v1.0-alpha1/jobs/x' })
  assert.is(r.statusCode, 401)
})

test('jobs api - a triggered job reaches the app as POST /job/{name} with the data as the body', async (ctx) => {
  const seen: Array<{ method?: string; url?: string; type?: string; body: string }> = []
  const app: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => { seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body }); res.writeHead(200).end() })
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  const port = (app.address() as { port: number }).port
  ctx.deliver = async (job) => {
    const c = jobCallbackRequest(job)
    const r = await fetch(`http://127.0.0.1:${port}${c.path}`, { method: c.method, headers: c.headers, body: c.body, signal: AbortSignal.timeout(5000) })
    if (!r.ok) throw new Error(`app answered ${r.status}`)
  }
  try {
    assert.is((await post(ctx, 'R2-D2', { data: { value: 'R2-D2:Oil Change' }, dueTime: '15s' })).statusCode, 204)
    await settle(ctx, 15_000)
    const deadline = Date.now() + 5000
    while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(seen, [{ method: 'POST', url: '/job/R2-D2', type: 'application/json', body: '{"value":"R2-D2:Oil Change"}' }])
  } finally {
    await new Promise((resolve) => app.close(resolve))
  }
})

test.run()
