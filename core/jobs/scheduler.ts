/**
 * The JobScheduler: fires due jobs on a Clock and hands each trigger to an injected `deliver(job)` (the
 * runtime's is Dapr's app callback, `POST /job/{name}` with the data as the body).
 *
 * Guarantees (docs.dapr.io/developing-applications/building-blocks/jobs/jobs-overview, "How it works"):
 * - never before due: a trigger is taken only when `clock.now()` has reached its time (a timer that fires
 *   early just re-arms);
 * - at least once: a trigger is written to the store as `pending`, together with the job's next fire time and
 *   its repeat count, BEFORE `deliver` is called, and cleared only after `deliver` resolved. A crash (kill -9)
 *   anywhere in between delivers it again at the next start; it cannot skip a trigger nor fire one twice
 *   beyond that redelivery;
 * - a failed delivery is retried by the job's failure policy (default: 3 retries after 1 s, 2 s, 4 s), then
 *   dropped with a warning;
 * - triggers missed while the runtime was down fire ONCE at start (not once per missed time), then the
 *   schedule resumes from now; a job whose ttl passed while down is deleted without firing;
 * - one delivery per job at a time: a trigger that comes due while the previous one is still being delivered
 *   waits, and collapses with any others into one.
 */
import { systemClock, type Clock } from '../clock.ts'
import { MechaError } from '../errors.ts'
import { KeyedMutex } from '../keyed-mutex.ts'
import { createLogger, type Logger } from '../logger.ts'
import type { Namespace } from '../store/index.ts'
import { jobKey, JobStore } from './job-store.ts'
import { jobView, newJobRecord, nextFireTime, retryDelay } from './spec.ts'
import type { DueJob, JobRecord, JobSpec, JobView } from './types.ts'

/** setTimeout cannot wait longer than 2^31-1 ms (it would fire at once); a far job re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1
const WRITE_RETRY_MS = 1000

export interface JobSchedulerOptions {
  /** The runtime's `jobs` namespace (`store.namespace('jobs')`). */
  namespace: Namespace<any>
  /** Calls the app; resolves when the app accepted the trigger, rejects (or times out) when it did not. */
  deliver: (job: DueJob) => Promise<void>
  /** @default systemClock */
  clock?: Clock
  log?: Logger
  /** Jobs held at most (all apps together); scheduling one more answers ERR_SCHEDULE_JOB. @default 10000 */
  maxJobs?: number
  /** Deliveries in flight at most. @default 16 */
  maxConcurrent?: number
  /** A delivery that has not settled by then counts as failed. @default 30000 */
  deliveryTimeoutMs?: number
}

export interface JobSchedulerCounters {
  scheduled: number
  delivered: number
  failedDeliveries: number
  dropped: number
  expired: number
}

export class JobScheduler {
  readonly #store: JobStore
  readonly #clock: Clock
  readonly #log: Logger
  readonly #deliver: (job: DueJob) => Promise<void>
  readonly #maxJobs: number
  readonly #maxConcurrent: number
  readonly #timeoutMs: number
  readonly #jobs = new Map<string, JobRecord>()
  readonly #inflight = new Set<string>()
  /** Jobs whose last step failed (a store write): left alone until the retry timer, so a broken disk is no hot loop. */
  readonly #stalled = new Set<string>()
  readonly #mutex = new KeyedMutex()
  readonly #counters: JobSchedulerCounters = { scheduled: 0, delivered: 0, failedDeliveries: 0, dropped: 0, expired: 0 }
  #generation = 0
  #timer: unknown
  #timerAt = Infinity
  #retryTimer: unknown
  #started = false
  #closed = false

  private constructor (o: JobSchedulerOptions) {
    this.#store = new JobStore(o.namespace)
    this.#clock = o.clock ?? systemClock
    this.#log = o.log ?? createLogger({ level: 'silent' })
    this.#deliver = o.deliver
    this.#maxJobs = o.maxJobs ?? 10_000
    this.#maxConcurrent = o.maxConcurrent ?? 16
    this.#timeoutMs = o.deliveryTimeoutMs ?? 30_000
  }

  /** Loads the stored jobs; nothing fires before `start()`. */
  static async create (o: JobSchedulerOptions): Promise<JobScheduler> {
    const s = new JobScheduler(o)
    for (const rec of await s.#store.all()) {
      s.#jobs.set(jobKey(rec.appId, rec.name), rec)
      if (rec.generation > s.#generation) s.#generation = rec.generation
    }
    return s
  }

  /** Starts firing (pending and missed triggers first). Call once the app can take callbacks; idempotent. */
  start (): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#tick()
  }

  get size (): number { return this.#jobs.size }
  counters (): JobSchedulerCounters { return { ...this.#counters } }

  /** Schedules (or, with `overwrite`, replaces) a job. Throws ERR_MALFORMED_JOB, or ERR_SCHEDULE_JOB (409 when it exists). */
  async schedule (spec: JobSpec): Promise<void> {
    this.#assertOpen()
    const key = jobKey(spec.appId, spec.name)
    await this.#mutex.run([key], async () => {
      const existing = this.#jobs.get(key)
      if (existing !== undefined && spec.overwrite !== true) {
        throw new MechaError('ERR_SCHEDULE_JOB', `job ${spec.name} already exists; set "overwrite": true to replace it`, { status: 409 })
      }
      if (existing === undefined && this.#jobs.size >= this.#maxJobs) {
        throw new MechaError('ERR_SCHEDULE_JOB', `job ${spec.name} cannot be scheduled: ${this.#maxJobs} jobs are already scheduled`, { status: 507 })
      }
      const rec = newJobRecord(spec, this.#clock.now(), this.#generation + 1)
      try { await this.#store.put(rec) } catch (err) {
        throw new MechaError('ERR_SCHEDULE_JOB', `job ${spec.name} cannot be stored: ${(err as Error).message}`, { cause: err })
      }
      this.#generation = rec.generation
      this.#jobs.set(key, rec)
      this.#counters.scheduled++
    })
    this.#arm()
  }

  /** Dapr's view of a job, or undefined. */
  get (appId: string, name: string): JobView | undefined {
    const rec = this.#jobs.get(jobKey(appId, name))
    return rec === undefined ? undefined : jobView(rec)
  }

  /** The stored record (due times, pending trigger), for the admin API and tests. */
  record (appId: string, name: string): JobRecord | undefined {
    const rec = this.#jobs.get(jobKey(appId, name))
    return rec === undefined ? undefined : structuredClone(rec)
  }

  /** The jobs of one app (or all), in name order. */
  list (appId?: string): JobView[] {
    return [...this.#jobs.values()].filter((r) => appId === undefined || r.appId === appId)
      .sort((a, b) => (a.appId === b.appId ? (a.name < b.name ? -1 : 1) : (a.appId < b.appId ? -1 : 1))).map(jobView)
  }

  /** Deletes a job (a delivery in flight finishes, but is not retried). Resolves to whether it existed. */
  async delete (appId: string, name: string): Promise<boolean> {
    this.#assertOpen()
    const key = jobKey(appId, name)
    const existed = await this.#mutex.run([key], async () => {
      if (!this.#jobs.has(key)) return false
      try { await this.#store.delete(appId, name) } catch (err) {
        throw new MechaError('ERR_DELETE_JOB', `job ${name} cannot be deleted: ${(err as Error).message}`, { cause: err })
      }
      this.#jobs.delete(key)
      return true
    })
    this.#arm()
    return existed
  }

  /** Resolves when no delivery is in flight and no write is queued (for tests and shutdown). */
  async idle (): Promise<void> {
    for (let i = 0; i < 1000 && (this.#inflight.size > 0 || this.#mutex.size > 0); i++) {
      await this.#mutex.idle()
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  /** Stops firing and waits for queued writes; deliveries in flight are not awaited (their triggers stay
   *  pending in the store and are delivered again at the next start). Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer)
    this.#timer = this.#retryTimer = undefined
    await this.#mutex.idle()
  }

  #assertOpen (): void {
    if (this.#closed) throw new MechaError('MECHA_ERR_NOT_READY', 'the job scheduler is closed')
  }

  #dueAt (rec: JobRecord): number | undefined {
    return rec.pending !== undefined ? rec.pending.notBefore : rec.nextAt
  }

  #tick (): void {
    if (this.#closed || !this.#started) return
    const now = this.#clock.now()
    for (const [key, rec] of this.#jobs) {
      if (this.#inflight.size >= this.#maxConcurrent) break
      if (this.#inflight.has(key) || this.#stalled.has(key)) continue
      const due = this.#dueAt(rec)
      const expired = rec.pending === undefined && rec.expiresAt !== undefined && rec.expiresAt <= now
      if (due === undefined || expired) this.#run(key, () => this.#finish(key, rec, expired))
      else if (due <= now) this.#run(key, () => this.#fire(key, rec))
    }
    this.#arm()
  }

  /** Runs one job's step with the job marked in flight, then looks for more work. */
  #run (key: string, step: () => Promise<void>): void {
    this.#inflight.add(key)
    void step().catch((err: unknown) => {
      this.#log.error({ err, job: key }, 'job step failed; retrying')
      this.#stalled.add(key)
      this.#retrySoon()
    }).finally(() => {
      this.#inflight.delete(key)
      this.#tick()
    })
  }

  #retrySoon (): void {
    if (this.#closed || this.#retryTimer !== undefined) return
    this.#retryTimer = this.#clock.setTimeout(() => { this.#retryTimer = undefined; this.#stalled.clear(); this.#tick() }, WRITE_RETRY_MS)
  }

  #arm (): void {
    // At the concurrency limit, the next finished delivery ticks again; a timer now would only spin.
    if (this.#closed || !this.#started || this.#inflight.size >= this.#maxConcurrent) return
    let min = Infinity
    for (const [key, rec] of this.#jobs) {
      if (this.#inflight.has(key) || this.#stalled.has(key)) continue
      const due = this.#dueAt(rec) ?? -Infinity
      if (due < min) min = due
    }
    if (this.#timer !== undefined) {
      if (this.#timerAt <= min) return
      this.#clock.clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (min === Infinity) return
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, min - this.#clock.now()))
    this.#timerAt = min
    this.#timer = this.#clock.setTimeout(() => { this.#timer = undefined; this.#timerAt = Infinity; this.#tick() }, delay)
  }

  /** Deletes a job that has nothing left to fire (or whose ttl passed). */
  async #finish (key: string, rec: JobRecord, expired: boolean): Promise<void> {
    await this.#mutex.run([key], async () => {
      if (this.#closed || this.#jobs.get(key) !== rec) return
      await this.#store.delete(rec.appId, rec.name)
      this.#jobs.delete(key)
      if (expired) { this.#counters.expired++; this.#log.info({ job: rec.name, appId: rec.appId }, 'job expired (ttl)') }
    })
  }

  /** Takes the due trigger (persisted first), delivers it, then records the outcome. */
  async #fire (key: string, seen: JobRecord): Promise<void> {
    const taken = await this.#mutex.run([key], async () => {
      const cur = this.#jobs.get(key)
      if (this.#closed || cur !== seen) return undefined
      if (cur.pending !== undefined) return cur // a retry, or a trigger left pending by a crash
      const now = this.#clock.now()
      const at = cur.nextAt!
      const fired = cur.fired + 1
      const next: JobRecord = { ...cur, fired, pending: { at, failures: 0, notBefore: at } }
      const after = nextFireTime(cur, at, now, fired)
      if (after === undefined) delete next.nextAt; else next.nextAt = after
      // The step that makes delivery at-least-once and never double: the trigger and the next fire time are
      // durable before the app hears of it.
      await this.#store.put(next)
      this.#jobs.set(key, next)
      return next
    })
    if (taken === undefined) return
    const pending = taken.pending!
    let ok = true
    let failure: unknown
    try { await this.#deliverWithTimeout(this.#dueJob(taken)) } catch (err) { ok = false; failure = err }
    await this.#mutex.run([key], async () => {
      const cur = this.#jobs.get(key)
      // Deleted or replaced meanwhile: the new job has its own schedule; nothing to record.
      if (this.#closed || cur === undefined || cur.generation !== taken.generation || cur.pending?.at !== pending.at) return
      const next: JobRecord = { ...cur }
      if (ok) {
        this.#counters.delivered++
        delete next.pending
      } else {
        this.#counters.failedDeliveries++
        const failures = pending.failures + 1
        const delay = retryDelay(cur.failurePolicy, failures)
        if (delay === undefined) {
          this.#counters.dropped++
          this.#log.warn({ err: failure, job: cur.name, appId: cur.appId, failures }, 'job trigger dropped: the app did not accept it')
          delete next.pending
        } else {
          this.#log.debug({ err: failure, job: cur.name, retryInMs: delay }, 'job delivery failed; retrying')
          next.pending = { ...pending, failures, notBefore: this.#clock.now() + delay }
        }
      }
      if (next.pending === undefined && next.nextAt === undefined) {
        await this.#store.delete(cur.appId, cur.name)
        this.#jobs.delete(key)
      } else {
        await this.#store.put(next)
        this.#jobs.set(key, next)
      }
    })
  }

  async #deliverWithTimeout (job: DueJob): Promise<void> {
    let timer: unknown
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = this.#clock.setTimeout(() => {
        reject(new MechaError('MECHA_ERR_JOB_DELIVERY', `job ${job.name}: the app did not answer within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
    })
    try {
      await Promise.race([Promise.resolve().then(() => this.#deliver(job)), timeout])
    } finally {
      this.#clock.clearTimeout(timer)
    }
  }

  #dueJob (rec: JobRecord): DueJob {
    const job: DueJob = {
      appId: rec.appId,
      name: rec.name,
      data: rec.dataJson === '' ? undefined : JSON.parse(rec.dataJson),
      dataJson: rec.dataJson,
      dueAt: rec.pending!.at,
      attempt: rec.pending!.failures,
    }
    if (rec.schedule !== undefined) job.schedule = rec.schedule
    if (rec.dueTime !== undefined) job.dueTime = rec.dueTime
    if (rec.repeats !== undefined) job.repeats = rec.repeats
    if (rec.ttl !== undefined) job.ttl = rec.ttl
    return job
  }
}
