/**
 * The `dapr.proto.runtime.v1.Dapr` methods (dapr/proto/runtime/v1/dapr.proto) as thin adapters over the
 * transport-agnostic services (CONVENTIONS 14): each turns its message into the service's plain request and the
 * result back into the response message. Validation, limits, key scoping and errors are the services', so gRPC
 * and HTTP answer alike. Errors propagate as MechaErrors; the server renders them (status.ts).
 */
import type { BindingResponse } from '../../core/bindings/types.ts'
import { MechaError, isMechaError } from '../../core/errors.ts'
import { checkJobName, jobSpecFromRequest, type JobScheduler } from '../../core/jobs/index.ts'
import type { BulkEntry } from '../pubsub/bulk-entries.ts'
import { isJsonContentType } from '../pubsub/cloudevent.ts'
import type { Caller } from '../services/caller.ts'
import type { InvokeService } from '../services/invoke-service.ts'
import type { LockService } from '../services/lock-service.ts'
import type { MetadataService } from '../services/metadata-service.ts'
import type { PublishService } from '../services/publish-service.ts'
import type { StateService } from '../services/state-service.ts'
import { expireTime } from '../services/state/values.ts'
import { bytesOfValue, codeFromHttp, concurrencyOf, stateObject, verbOf, type Msg } from './convert.ts'
import type { DaprMethod } from './proto/methods.ts'

/** Output bindings: `(name, operation, data, metadata) → {data, metadata}` (the bindings host's invoke). */
export type BindingInvoker = (name: string, operation: string, data: unknown, metadata: Record<string, string>) => Promise<BindingResponse>

export interface DaprServices {
  state: StateService
  lock: LockService
  publish: PublishService
  invoke: InvokeService
  metadata: MetadataService
  jobs?: Pick<JobScheduler, 'schedule' | 'get' | 'delete'>
  bindings?: BindingInvoker
  /** `Shutdown`: the runtime stops after answering. */
  shutdown?: () => void
}

/** A method's call as the server hands it over: the message, the resolved caller, the request headers. */
export type Handler = (req: Msg, caller: Caller, headers: Record<string, string>) => Promise<Msg>

/** An error with a gRPC status that no registry code names (an invoked app's own status). */
export class GrpcStatusError extends Error {
  constructor (readonly code: number, message: string) { super(message) }
}

const unimplemented = (what: string): never => { throw new GrpcStatusError(12, `${what} is not available in this runtime`) }
const UNLOCK = ['SUCCESS', 'LOCK_DOES_NOT_EXIST', 'LOCK_BELONGS_TO_OTHERS', 'INTERNAL_ERROR']

function parseJson (bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined
  try { return JSON.parse(bytes.toString('utf8')) } catch { return bytes }
}

function bulkEntriesOf (entries: Msg[]): BulkEntry[] {
  const seen = new Set<string>()
  return entries.map((e, i) => {
    const entryId = String(e.entry_id ?? '')
    if (entryId === '') throw new MechaError('ERR_PUBSUB_EVENTS_SER', `entry ${i}: entryId must be a non-empty string`)
    if (seen.has(entryId)) throw new MechaError('ERR_PUBSUB_EVENTS_SER', `entry ${i}: entryId "${entryId}" is not unique`)
    seen.add(entryId)
    const body: Buffer = e.event ?? Buffer.alloc(0)
    const contentType = e.content_type === '' || e.content_type === undefined ? 'application/json' : String(e.content_type)
    let parsed: unknown
    if (isJsonContentType(contentType.split(';')[0].trim().toLowerCase())) {
      try { parsed = JSON.parse(body.toString('utf8')) } catch (err) {
        throw new MechaError('ERR_PUBSUB_EVENTS_SER', `entry ${entryId}: the event is not valid JSON: ${(err as Error).message}`)
      }
    }
    return { entryId, body, ...(parsed === undefined ? {} : { parsed }), contentType, metadata: (e.metadata ?? {}) as Record<string, string> }
  })
}

export function daprMethods (s: DaprServices): Record<DaprMethod, Handler> {
  return {
    // --- state (docs.dapr.io/reference/api/state_api)
    async GetState (r, c) {
      const item = await s.state.get(c, r.store_name, r.key)
      if (item === undefined) return { data: Buffer.alloc(0), etag: '', metadata: {} }
      const metadata: Record<string, string> = {}
      if (item.expiresAt !== undefined) metadata.ttlExpireTime = expireTime(item.expiresAt)
      if (item.contentType !== undefined) metadata.contentType = item.contentType
      return { data: bytesOfValue(item.value), etag: item.etag, metadata }
    },
    async GetBulkState (r, c) {
      const found = await s.state.bulkGet(c, r.store_name, r.keys ?? [])
      return {
        items: found.map(({ key, item }) => item === undefined
          ? { key, data: Buffer.alloc(0), etag: '', error: '', metadata: {} }
          : { key, data: bytesOfValue(item.value), etag: item.etag, error: '', metadata: { ...(item.expiresAt !== undefined ? { ttlExpireTime: expireTime(item.expiresAt) } : {}), ...(item.contentType !== undefined ? { contentType: item.contentType } : {}) } }),
      }
    },
    async SaveState (r, c) {
      await s.state.save(c, r.store_name, (r.states ?? []).map(stateObject))
      return {}
    },
    async DeleteState (r, c) {
      await s.state.delete(c, r.store_name, { key: r.key, ...(r.etag?.value ? { etag: r.etag.value } : {}), concurrency: concurrencyOf(r.options) })
      return {}
    },
    async DeleteBulkState (r, c) {
      await s.state.deleteBulk(c, r.store_name, (r.states ?? []).map((it: Msg) => ({ key: it.key ?? '', ...(it.etag?.value ? { etag: it.etag.value } : {}), concurrency: concurrencyOf(it.options) })))
      return {}
    },
    async ExecuteStateTransaction (r, c) {
      const operations = (r.operations ?? []).map((o: Msg) => ({ operation: o.operationType, request: stateObject(o.request) }))
      await s.state.transact(c, r.storeName, { operations, metadata: r.metadata ?? {} })
      return {}
    },
    async QueryStateAlpha1 (r, c) {
      s.state.store(r.store_name)
      let query: unknown
      try { query = JSON.parse(r.query) } catch (err) { throw new MechaError('ERR_MALFORMED_REQUEST', `the query is not valid JSON: ${(err as Error).message}`) }
      const result = await s.state.query(c, r.store_name, query)
      return { results: result.results.map((x) => ({ key: x.key, data: bytesOfValue(x.value), etag: x.etag, error: '' })), token: result.token ?? '', metadata: {} }
    },
    // --- pub/sub (docs.dapr.io/reference/api/pubsub_api)
    async PublishEvent (r, c, h) {
      const contentType = String(r.data_content_type ?? '')
      const body: Buffer = r.data ?? Buffer.alloc(0)
      let parsed: unknown
      if (isJsonContentType(contentType) && body.length > 0) { try { parsed = JSON.parse(body.toString('utf8')) } catch {} }
      await s.publish.publish(c, { pubsubname: r.pubsub_name, topic: r.topic, body, ...(parsed === undefined ? {} : { parsed }), contentType, metadata: r.metadata ?? {}, traceparent: h.traceparent, tracestate: h.tracestate })
      return {}
    },
    async BulkPublishEventAlpha1 (r, c, h) {
      s.publish.checkBulk(r.pubsub_name, r.topic, r.metadata ?? {})
      const failed = await s.publish.bulkPublish(c, { pubsubname: r.pubsub_name, topic: r.topic, entries: bulkEntriesOf(r.entries ?? []), metadata: r.metadata ?? {}, traceparent: h.traceparent, tracestate: h.tracestate })
      return { failedEntries: failed.map((f) => ({ entry_id: f.entryId, error: f.error })) }
    },
    async BulkPublishEvent (r, c, h) { return await this.BulkPublishEventAlpha1(r, c, h) },
    async SubscribeTopicEventsAlpha1 () { return unimplemented('SubscribeTopicEventsAlpha1 (streaming subscriptions)') },
    // --- service invocation (docs.dapr.io/reference/api/service_invocation_api)
    async InvokeService (r, c, h) {
      const m: Msg = r.message ?? {}
      const qs = String(m.http_extension?.querystring ?? '')
      const method = String(m.method ?? '').replace(/^\/+/, '')
      const headers: Record<string, string> = { ...h }
      delete headers['content-type']
      if (m.content_type) headers['content-type'] = m.content_type
      const res = await s.invoke.invoke(c, r.id, { verb: verbOf(m.http_extension), path: `/${method}${qs === '' ? '' : `?${qs}`}`, headers, body: m.data?.value ?? Buffer.alloc(0) })
      const code = codeFromHttp(res.status)
      if (code !== 0) throw new GrpcStatusError(code, `the app ${r.id} answered HTTP ${res.status}: ${res.body.toString('utf8').slice(0, 512)}`)
      const ct = res.headers['content-type']
      return { data: { type_url: '', value: res.body }, content_type: typeof ct === 'string' ? ct : '' }
    },
    // --- bindings (docs.dapr.io/reference/api/bindings_api)
    async InvokeBinding (r) {
      if (s.bindings === undefined) return unimplemented('InvokeBinding (no bindings host)')
      let out: BindingResponse
      try { out = await s.bindings(r.name, r.operation, parseJson(r.data ?? Buffer.alloc(0)), r.metadata ?? {}) } catch (err) {
        const detail = isMechaError(err) ? `${(err as Error).message} (${err.code})` : (err as Error).message
        throw new MechaError('ERR_INVOKE_OUTPUT_BINDING', `error invoking output binding ${r.name}: ${detail}`, { cause: err })
      }
      const data = out.data === undefined || out.data === null ? Buffer.alloc(0) : out.data instanceof Uint8Array ? Buffer.from(out.data) : Buffer.from(JSON.stringify(out.data))
      return { data, metadata: out.metadata ?? {} }
    },
    // --- lock (docs.dapr.io/reference/api/distributed_lock_api)
    async TryLockAlpha1 (r, c) {
      return { success: await s.lock.tryLock(c, r.store_name, { resourceId: r.resource_id, lockOwner: r.lock_owner, expiryInSeconds: r.expiry_in_seconds }) }
    },
    async UnlockAlpha1 (r, c) {
      return { status: UNLOCK[await s.lock.unlock(c, r.store_name, { resourceId: r.resource_id, lockOwner: r.lock_owner })] ?? 'INTERNAL_ERROR' }
    },
    // --- metadata and lifecycle
    async GetMetadata () {
      const m = await s.metadata.get()
      return {
        id: m.id,
        runtime_version: m.runtimeVersion,
        enabled_features: m.enabledFeatures,
        registered_components: m.components,
        extended_metadata: m.extended,
        actor_runtime: { runtime_status: m.actorRuntime.runtimeStatus, active_actors: [], host_ready: m.actorRuntime.hostReady, placement: m.actorRuntime.placement },
        subscriptions: (m.subscriptions as Msg[]).map((x) => ({ pubsub_name: x.pubsubname, topic: x.topic, metadata: x.metadata ?? {}, rules: x.rules ?? { rules: [] }, dead_letter_topic: x.deadLetterTopic ?? '', type: x.type ?? 'UNKNOWN' })),
        http_endpoints: [],
      }
    },
    async SetMetadata (r) { s.metadata.set(r.key, r.value); return {} },
    async Shutdown () {
      if (s.shutdown === undefined) return unimplemented('Shutdown')
      // After the answer is on its way, as Dapr's sidecar does.
      setImmediate(s.shutdown)
      return {}
    },
    // --- jobs (docs.dapr.io/reference/api/jobs_api), over core/jobs like the HTTP routes
    async ScheduleJobAlpha1 (r, c) {
      if (s.jobs === undefined) return unimplemented('the jobs API')
      const j: Msg = r.job ?? {}
      const body: Record<string, unknown> = { overwrite: r.overwrite === true }
      if (j.schedule != null) body.schedule = j.schedule
      if (j.due_time != null) body.dueTime = j.due_time
      if (j.repeats != null) body.repeats = j.repeats
      if (j.ttl != null) body.ttl = j.ttl
      if (j.data?.value !== undefined && j.data.value.length > 0) body.data = parseJson(j.data.value)
      if (Buffer.isBuffer(body.data)) body.data = (body.data as Buffer).toString('base64')
      const fp = j.failure_policy
      if (fp?.drop != null) body.failure_policy = { drop: {} }
      else if (fp?.constant != null) body.failure_policy = { constant: { interval: `${Number(fp.constant.interval?.seconds ?? 0)}s`, ...(fp.constant.max_retries != null ? { max_retries: fp.constant.max_retries } : {}) } }
      const spec = jobSpecFromRequest(c.appId, j.name ?? '', body)
      try { await s.jobs.schedule(spec) } catch (err) { throw jobFailure(err, 'ERR_SCHEDULE_JOB', spec.name) }
      return {}
    },
    async GetJobAlpha1 (r, c) {
      if (s.jobs === undefined) return unimplemented('the jobs API')
      const name = checkJobName(r.name)
      let job
      try { job = s.jobs.get(c.appId, name) } catch (err) { throw jobFailure(err, 'ERR_GET_JOB', name) }
      if (job === undefined) throw new MechaError('ERR_JOBS_NOT_FOUND', `job ${name} not found`)
      return { job: { name: job.name, schedule: job.schedule, repeats: job.repeats, due_time: job.dueTime, ttl: job.ttl, ...(job.data === undefined ? {} : { data: { type_url: 'type.googleapis.com/google.protobuf.Value', value: Buffer.from(JSON.stringify(job.data)) } }) } }
    },
    async DeleteJobAlpha1 (r, c) {
      if (s.jobs === undefined) return unimplemented('the jobs API')
      const name = checkJobName(r.name)
      try { await s.jobs.delete(c.appId, name) } catch (err) { throw jobFailure(err, 'ERR_DELETE_JOB', name) }
      return {}
    },
  }
}

function jobFailure (err: unknown, code: 'ERR_SCHEDULE_JOB' | 'ERR_GET_JOB' | 'ERR_DELETE_JOB', name: string): MechaError {
  if (err instanceof MechaError && (err.status < 500 || err.code === code)) return err
  return new MechaError(code, `job ${name}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}
