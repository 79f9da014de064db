/**
 * Jobs as Dapr's Jobs API defines them (docs.dapr.io/reference/api/jobs_api): a name, an optional `schedule`,
 * `dueTime`, `repeats`, `ttl`, `data` and `failure_policy`. Jobs belong to the app that scheduled them (Dapr
 * calls back only the requestor), so a job is identified by app id and name.
 */

/** What the API accepts (the request body plus the name and the calling app), already validated. */
export interface JobSpec {
  appId: string
  name: string
  /** As given; `@every 1m`, a cron expression, a descriptor, or a Go duration. */
  schedule?: string
  /** As given: RFC3339, Go duration or ISO 8601 duration (counted from creation). */
  dueTime?: string
  /** How many times it fires in all; undefined = until ttl (or forever). */
  repeats?: number
  /** As given, like dueTime. */
  ttl?: string
  /** Any JSON value, kept verbatim as its JSON text. */
  data?: unknown
  overwrite?: boolean
  failurePolicy?: FailurePolicy
}

/** Dapr's `failure_policy`: `{constant: {interval, max_retries}}` or `{drop: {}}`; absent = the default backoff. */
export type FailurePolicy =
  | { type: 'constant'; intervalMs: number; maxRetries: number | null }
  | { type: 'drop' }
  | { type: 'backoff'; initialMs: number; maxMs: number; maxRetries: number }

/** A trigger that was due and is being delivered (persisted before the delivery starts). */
export interface PendingTrigger {
  /** The due time it stands for (epoch ms). */
  at: number
  /** Failed deliveries so far. */
  failures: number
  /** Not before this time (epoch ms): `at` at first, later the retry time. */
  notBefore: number
}

/** A job as it lives in the store (the LevelDB `jobs` namespace). */
export interface JobRecord {
  appId: string
  name: string
  schedule?: string
  dueTime?: string
  repeats?: number
  ttl?: string
  /** JSON text of `data` ('' when there was none). */
  dataJson: string
  failurePolicy?: FailurePolicy
  createdAt: number
  /** Epoch ms after which it never fires again (from ttl). */
  expiresAt?: number
  /** The next regular fire time; undefined once no more are left (a pending trigger may still be delivered). */
  nextAt?: number
  /** Triggers taken so far (each counted when it became pending, i.e. before delivery). */
  fired: number
  pending?: PendingTrigger
  /** Bumped on every (re)schedule so a delivery in flight can tell its job was replaced. */
  generation: number
}

/** What `deliver` gets: enough to call the app as Dapr does (`POST /job/{name}` with the data as the body). */
export interface DueJob {
  appId: string
  name: string
  /** The job's data (parsed JSON), undefined when it had none. */
  data: unknown
  /** The data as JSON text, the exact callback body ('' when none). */
  dataJson: string
  schedule?: string
  dueTime?: string
  repeats?: number
  ttl?: string
  /** The due time this delivery stands for (epoch ms). */
  dueAt: number
  /** 0 on the first try, then 1, 2 … on retries. */
  attempt: number
}

/** Dapr's GET response: `{name, schedule?, dueTime?, repeats?, ttl?, data}`. */
export interface JobView {
  name: string
  schedule?: string
  dueTime?: string
  repeats?: number
  ttl?: string
  data?: unknown
}
