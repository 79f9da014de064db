/**
 * The app channel of an app declared `appProtocol: grpc`: the runtime calls the app's
 * `dapr.proto.runtime.v1.AppCallback` service (dapr/proto/runtime/v1/appcallback.proto) as Dapr's gRPC app
 * channel does — ListTopicSubscriptions when the app comes up, OnTopicEvent per event (SUCCESS / RETRY / DROP;
 * an UNIMPLEMENTED status drops, any other error retries, a refused connection means the app is down),
 * OnInvoke for service invocation, AppCallbackHealthCheck.HealthCheck for app health, and ListInputBindings /
 * OnBindingEvent for the bindings host. One HTTP/2 connection per app, reused; every call has a deadline.
 */
import type * as GrpcJs from '@grpc/grpc-js'
import type { AppConfig } from '../../core/config/index.ts'
import { MechaError } from '../../core/errors.ts'
import type { Verdict } from '../pubsub/app-response.ts'
import type { CloudEvent } from '../pubsub/cloudevent.ts'
import type { AppChannel, ChannelEvent, ChannelInvoke, ChannelResponse, SubscriptionsAnswer } from '../invoke/app-channel.ts'
import { requestHeaders } from '../invoke/forward.ts'
import { loadGrpc, type Grpc } from './load.ts'
import type { Msg } from './convert.ts'

type Client = GrpcJs.Client & Record<string, (req: unknown, md: GrpcJs.Metadata, opts: GrpcJs.CallOptions, cb: (err: GrpcJs.ServiceError | null, res: Msg) => void) => GrpcJs.ClientUnaryCall>

const HTTP_OF: Record<number, number> = { 3: 400, 5: 404, 7: 403, 16: 401, 12: 501, 4: 504, 8: 429, 9: 400, 10: 409 }
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The CloudEvent's `data` as the bytes of TopicEventRequest.data (Dapr sends data_base64 decoded). */
function eventData (ce: CloudEvent): Buffer {
  if (typeof ce.data_base64 === 'string') return Buffer.from(ce.data_base64, 'base64')
  if (ce.data === undefined) return Buffer.alloc(0)
  const ct = String(ce.datacontenttype ?? '')
  if (typeof ce.data === 'string' && !/json/i.test(ct)) return Buffer.from(ce.data, 'utf8')
  return Buffer.from(JSON.stringify(ce.data))
}

export interface GrpcAppChannelOptions { maxMessageBytes?: number }

export class GrpcAppChannel implements AppChannel {
  readonly protocol = 'grpc' as const
  readonly #grpc: Grpc
  readonly #app: Client
  readonly #health: Client
  readonly #config: AppConfig
  readonly #target: { appId: string; host: string; port: number }
  #closed = false

  private constructor (grpc: Grpc, app: Client, health: Client, config: AppConfig, target: { appId: string; host: string; port: number }) {
    this.#grpc = grpc
    this.#app = app
    this.#health = health
    this.#config = config
    this.#target = target
  }

  static async create (target: { appId: string; host: string; port: number }, app: AppConfig, opts: GrpcAppChannelOptions = {}): Promise<GrpcAppChannel> {
    const { grpc, v1 } = await loadGrpc()
    const max = opts.maxMessageBytes ?? 4 * 1024 * 1024
    const address = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`
    // grpc-js waits up to 120 s between reconnects by default: an app back after an outage would wait that long
    // for its queued events. The app is local, so reconnecting often costs nothing.
    const options = { 'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max, 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000 }
    const creds = grpc.credentials.createInsecure()
    const callback = new v1.AppCallback(address, creds, options) as unknown as Client
    // Same target and options: grpc-js shares the subchannel, so both ride one connection.
    const health = new v1.AppCallbackHealthCheck(address, creds, options) as unknown as Client
    return new GrpcAppChannel(grpc, callback, health, app, target)
  }

  #call (client: Client, method: string, req: unknown, timeoutMs: number, md?: Record<string, string>, signal?: AbortSignal): Promise<{ err: GrpcJs.ServiceError | null; res?: Msg }> {
    const metadata = new this.#grpc.Metadata()
    for (const [k, v] of Object.entries(md ?? {})) metadata.set(k, v)
    return new Promise((resolve) => {
      const call = client[method](req, metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
        signal?.removeEventListener('abort', onAbort)
        resolve({ err, res })
      })
      const onAbort = (): void => { call.cancel() }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** The app is not up: nothing listens (the connection was refused or never came up). */
  #unreachable (err: GrpcJs.ServiceError): boolean {
    return err.code === this.#grpc.status.UNAVAILABLE && /ECONNREFUSED|No connection established|EHOSTUNREACH|ENETUNREACH/.test(err.details ?? err.message)
  }

  async subscriptions (timeoutMs: number, signal: AbortSignal): Promise<SubscriptionsAnswer> {
    const { err, res } = await this.#call(this.#app, 'ListTopicSubscriptions', {}, timeoutMs, undefined, signal)
    if (err !== null) {
      // An app without subscriptions may not implement the method: it is up, with none (as Dapr reads it).
      if (err.code === this.#grpc.status.UNIMPLEMENTED) return { up: true, list: [] }
      return { up: false, why: err.details ?? err.message }
    }
    // In the `/dapr/subscribe` shape, so both protocols go through one parser (subscription.ts fromProgrammatic).
    const list = ((res?.subscriptions ?? []) as Msg[]).map((s) => {
      const rules = ((s.routes?.rules ?? []) as Msg[]).map((r) => ({ match: r.match ?? '', path: r.path ?? '' }))
      const def = String(s.routes?.default ?? '')
      return {
        pubsubname: s.pubsub_name,
        topic: s.topic,
        metadata: s.metadata ?? {},
        // A gRPC subscription may name no route at all (Dapr sends path ""): it gets the root route.
        routes: { rules, default: def === '' && rules.length === 0 ? '/' : def },
        ...(s.dead_letter_topic ? { deadLetterTopic: s.dead_letter_topic } : {}),
        ...(s.bulk_subscribe?.enabled === true ? { bulkSubscribe: { enabled: true, maxMessagesCount: s.bulk_subscribe.max_messages_count || undefined, maxAwaitDurationMs: s.bulk_subscribe.max_await_duration_ms || undefined } } : {}),
      }
    })
    return { up: true, list }
  }

  async deliver (ev: ChannelEvent): Promise<{ verdict: Verdict; why: string }> {
    const { ce } = ev
    const req = {
      id: String(ce.id ?? ''),
      source: String(ce.source ?? ''),
      type: String(ce.type ?? ''),
      spec_version: String(ce.specversion ?? '1.0'),
      data_content_type: String(ce.datacontenttype ?? ''),
      data: eventData(ce),
      topic: String(ce.topic ?? ''),
      pubsub_name: ev.pubsubname,
      path: ev.path,
    }
    const md: Record<string, string> = {}
    if (typeof ce.traceparent === 'string') md.traceparent = ce.traceparent
    const { err, res } = await this.#call(this.#app, 'OnTopicEvent', req, ev.timeoutMs, md, ev.signal)
    if (err !== null) {
      if (this.#unreachable(err)) return { verdict: 'unreachable', why: err.details ?? err.message }
      // dapr pkg/runtime/subscription: an app answering Unimplemented cannot ever take it: dropped.
      if (err.code === this.#grpc.status.UNIMPLEMENTED) return { verdict: 'drop', why: 'the app answered UNIMPLEMENTED' }
      return { verdict: 'retry', why: `the app answered ${this.#grpc.status[err.code] ?? err.code}: ${err.details ?? ''}` }
    }
    const status = String(res?.status ?? 'SUCCESS')
    if (status === 'SUCCESS') return { verdict: 'success', why: '' }
    if (status === 'DROP') return { verdict: 'drop', why: 'the app answered DROP' }
    return { verdict: 'retry', why: status === 'RETRY' ? 'the app answered RETRY' : `the app answered an unknown status "${status}"` }
  }

  async invoke (call: ChannelInvoke): Promise<ChannelResponse> {
    const [path, query = ''] = call.path.split(/\?(.*)/s, 2)
    const headers = requestHeaders(call.headers, call.callerId, this.#config.id)
    const md: Record<string, string> = {}
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string' && k !== 'content-type' && !k.startsWith(':')) md[k] = v
    const ct = call.headers['content-type']
    const req = {
      method: path.replace(/^\/+/, ''),
      data: { type_url: '', value: call.body ?? Buffer.alloc(0) },
      content_type: typeof ct === 'string' ? ct : '',
      http_extension: { verb: call.verb.toUpperCase(), querystring: query },
    }
    const policy = this.#config.invoke
    let r: { err: GrpcJs.ServiceError | null; res?: Msg }
    // Only calls that never reached the app are repeated, as over HTTP (forward.ts).
    for (let attempt = 0; ; attempt++) {
      r = await this.#call(this.#app, 'OnInvoke', req, policy.timeoutMs, md)
      if (r.err === null || !this.#unreachable(r.err) || attempt >= policy.maxRetries) break
      await (call.sleep ?? wait)(policy.retryIntervalMs)
    }
    if (r.err !== null) {
      if (this.#unreachable(r.err) || r.err.code === this.#grpc.status.DEADLINE_EXCEEDED) {
        throw new MechaError('ERR_DIRECT_INVOKE', `failed to invoke, id: ${this.#target.appId}, err: ${r.err.details ?? r.err.message}`)
      }
      return { status: HTTP_OF[r.err.code] ?? 500, headers: { 'content-type': 'text/plain' }, body: Buffer.from(r.err.details ?? '') }
    }
    const body: Buffer = r.res?.data?.value ?? Buffer.alloc(0)
    if (body.length > call.maxResponseBytes) throw new MechaError('ERR_DIRECT_INVOKE', `failed to invoke, id: ${this.#target.appId}, err: the app answered more than ${call.maxResponseBytes} bytes`)
    return { status: 200, headers: r.res?.content_type ? { 'content-type': r.res.content_type } : {}, body }
  }

  /** AppCallbackHealthCheck.HealthCheck: true when the app answers OK within the deadline. */
  async healthy (timeoutMs: number): Promise<boolean> {
    const { err } = await this.#call(this.#health, 'HealthCheck', {}, timeoutMs)
    return err === null
  }

  /** AppCallback.ListInputBindings: the input bindings the app wants events of. */
  async listInputBindings (timeoutMs: number): Promise<string[]> {
    const { err, res } = await this.#call(this.#app, 'ListInputBindings', {}, timeoutMs)
    if (err !== null) {
      if (err.code === this.#grpc.status.UNIMPLEMENTED) return []
      throw new MechaError('MECHA_ERR_BINDING_DELIVERY', `ListInputBindings on app ${this.#target.appId} failed: ${err.details ?? err.message}`)
    }
    return (res?.bindings ?? []) as string[]
  }

  /** AppCallback.OnBindingEvent: one input-binding event; resolves to the app's answer data. */
  async onBindingEvent (name: string, data: Buffer, metadata: Record<string, string>, timeoutMs: number): Promise<{ data: Buffer }> {
    const { err, res } = await this.#call(this.#app, 'OnBindingEvent', { name, data, metadata }, timeoutMs)
    if (err !== null) throw new MechaError('MECHA_ERR_BINDING_DELIVERY', `OnBindingEvent ${name} on app ${this.#target.appId} failed: ${err.details ?? err.message}`)
    return { data: res?.data ?? Buffer.alloc(0) }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#app.close()
    this.#health.close()
  }
}
