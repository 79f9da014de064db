import type { AppConfig } from '../core/config/index.ts'
import { MechaError } from '../core/errors.ts'
import { jobCallbackRequest, type DueJob } from '../core/jobs/index.ts'
import { callApp } from './invoke/app-http.ts'

/**
 * A due job goes to its app as `POST /job/{name}` (Dapr's callback); a 2xx answer acknowledges it. Jobs
 * scheduled without an app id (the runtime's own id) go to the one supervised app with a port, if there is
 * exactly one.
 */
export async function deliverJob (job: DueJob, apps: readonly AppConfig[], runtimeId: string): Promise<void> {
  const withPort = apps.filter((a) => a.appPort !== undefined)
  const app = withPort.find((a) => a.id === job.appId) ?? (job.appId === runtimeId && withPort.length === 1 ? withPort[0] : undefined)
  if (app === undefined) throw new MechaError('MECHA_ERR_JOB_DELIVERY', `no app ${job.appId} with an appPort to deliver job ${job.name} to`)
  const req = jobCallbackRequest(job)
  const res = await callApp({ host: app.appHost ?? '127.0.0.1', port: app.appPort!, method: req.method, path: req.path, headers: req.headers, body: req.body, timeoutMs: 30_000 })
  if (res.kind !== 'response') throw new MechaError('MECHA_ERR_JOB_DELIVERY', `app ${app.id}: ${res.message}`)
  if (res.status < 200 || res.status >= 300) throw new MechaError('MECHA_ERR_JOB_DELIVERY', `app ${app.id} answered ${res.status} to job ${job.name}`)
}
