/**
 * What an app's answer to an event means (docs.dapr.io/reference/api/pubsub_api, "Expected HTTP Response",
 * and Dapr's runtime/pubsub publishMessageHTTP): any 2xx is success unless its JSON body says RETRY or DROP
 * (an empty or unparsable body, or an empty status, is success; an unknown status is retried); 404 drops;
 * every other status, a timeout or a reset is retried; "connection refused" means the app is down.
 */
import type { AppCallResult } from '../invoke/app-http.ts'

export type Verdict = 'success' | 'retry' | 'drop' | 'unreachable'

export function verdictOf (r: AppCallResult): { verdict: Verdict; why: string } {
  if (r.kind === 'unreachable') return { verdict: 'unreachable', why: r.message }
  if (r.kind !== 'response') return { verdict: 'retry', why: r.message }
  if (r.status === 404) return { verdict: 'drop', why: 'the app answered 404' }
  if (r.status < 200 || r.status > 299) return { verdict: 'retry', why: `the app answered ${r.status}` }
  const status = statusField(r.body)
  if (status === undefined || status === '' || status === 'SUCCESS') return { verdict: 'success', why: '' }
  if (status === 'RETRY') return { verdict: 'retry', why: 'the app answered RETRY' }
  if (status === 'DROP') return { verdict: 'drop', why: 'the app answered DROP' }
  return { verdict: 'retry', why: `the app answered an unknown status "${status}"` }
}

function statusField (body: Buffer): string | undefined {
  if (body.length === 0) return undefined
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown
    if (v !== null && typeof v === 'object' && typeof (v as { status?: unknown }).status === 'string') return (v as { status: string }).status.toUpperCase()
  } catch {}
  return undefined
}

export interface BulkVerdicts {
  /** Per entry id; entries the app did not mention are retried (Dapr does the same). */
  byEntry: Map<string, Verdict>
  /** Set when the whole call failed: it applies to every entry. */
  all?: { verdict: Verdict; why: string }
}

/** The answer to a bulk delivery: `{"statuses": [{"entryId", "status"}]}` (docs.dapr.io/…/pubsub-bulk). */
export function bulkVerdictsOf (r: AppCallResult): BulkVerdicts {
  const byEntry = new Map<string, Verdict>()
  if (r.kind !== 'response' || r.status < 200 || r.status > 299) return { byEntry, all: verdictOf(r) }
  let body: unknown
  try { body = JSON.parse(r.body.toString('utf8')) } catch { return { byEntry, all: { verdict: 'retry', why: 'the bulk answer is not JSON' } } }
  const statuses = (body as { statuses?: unknown } | null)?.statuses
  if (!Array.isArray(statuses)) return { byEntry, all: { verdict: 'retry', why: 'the bulk answer has no statuses' } }
  for (const s of statuses as Array<{ entryId?: unknown; status?: unknown }>) {
    if (typeof s?.entryId !== 'string') continue
    const st = typeof s.status === 'string' ? s.status.toUpperCase() : ''
    byEntry.set(s.entryId, st === 'SUCCESS' ? 'success' : st === 'DROP' ? 'drop' : 'retry')
  }
  return { byEntry }
}
