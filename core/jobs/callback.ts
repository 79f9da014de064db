/**
 * Dapr's app callback for a triggered job over HTTP (docs.dapr.io/developing-applications/building-blocks/jobs/
 * howto-schedule-and-handle-triggered-jobs, "Triggered job handling assumptions"): `POST /job/<job-name>` on the
 * app, with the job's `data` as the JSON body; a 2xx answer means the app took it.
 */
import type { DueJob } from './types.ts'

export interface JobCallbackRequest {
  method: 'POST'
  /** `/job/<name>`, the name percent-encoded as one path segment. */
  path: string
  headers: Record<string, string>
  body: string
}

export function jobCallbackRequest (job: DueJob): JobCallbackRequest {
  return {
    method: 'POST',
    path: `/job/${encodeURIComponent(job.name)}`,
    headers: { 'content-type': 'application/json' },
    body: job.dataJson,
  }
}
