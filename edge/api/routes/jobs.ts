/**
 * The Dapr Jobs API (docs.dapr.io/reference/api/jobs_api), alpha, as a fastify plugin:
 * `POST /v1.0-alpha1/jobs/{name}` {schedule?, dueTime?, repeats?, ttl?, data?, overwrite?, failure_policy?} → 204,
 * `GET /v1.0-alpha1/jobs/{name}` → 200 {name, schedule?, dueTime?, repeats?, ttl?, data?},
 * `DELETE /v1.0-alpha1/jobs/{name}` → 204.
 * Jobs belong to the calling app (Dapr calls back only the app that scheduled a job). The route only reads
 * the request; validation and storage are the JobScheduler's (core/jobs), shared with other transports.
 * Register it in its own scope: `app.register((scope) => jobRoutes(scope, deps))`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MechaError } from '../../../core/errors.ts'
import { checkJobName, jobSpecFromRequest, type JobScheduler } from '../../../core/jobs/index.ts'
import { jsonBody } from './state/body.ts'

export interface JobRouteDeps {
  jobs: Pick<JobScheduler, 'schedule' | 'get' | 'delete'>
  /** The calling app: the `dapr-app-id` header, the supervised app, or the runtime id. */
  appIdFor: (req: FastifyRequest) => string
}

type NameParams = { Params: { name: string } }

function failure (err: unknown, code: 'ERR_SCHEDULE_JOB' | 'ERR_GET_JOB' | 'ERR_DELETE_JOB', name: string): MechaError {
  if (err instanceof MechaError && (err.status < 500 || err.code === code)) return err
  return new MechaError(code, `job ${name}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}

export async function jobRoutes (app: FastifyInstance, deps: JobRouteDeps): Promise<void> {
  app.post<NameParams>('/v1.0-alpha1/jobs/:name', async (req, reply) => {
    const spec = jobSpecFromRequest(deps.appIdFor(req), req.params.name, jsonBody(req))
    try { await deps.jobs.schedule(spec) } catch (err) { throw failure(err, 'ERR_SCHEDULE_JOB', spec.name) }
    return await reply.status(204).send()
  })

  app.get<NameParams>('/v1.0-alpha1/jobs/:name', async (req, reply) => {
    const name = checkJobName(req.params.name)
    let job
    try { job = deps.jobs.get(deps.appIdFor(req), name) } catch (err) { throw failure(err, 'ERR_GET_JOB', name) }
    if (job === undefined) throw new MechaError('ERR_JOBS_NOT_FOUND', `job ${name} not found`)
    return await reply.status(200).send(job)
  })

  // Deleting a job that does not exist answers 204 too: DELETE is idempotent, and a retried delete must not fail.
  app.delete<NameParams>('/v1.0-alpha1/jobs/:name', async (req, reply) => {
    const name = checkJobName(req.params.name)
    try { await deps.jobs.delete(deps.appIdFor(req), name) } catch (err) { throw failure(err, 'ERR_DELETE_JOB', name) }
    return await reply.status(204).send()
  })
}
