/**
 * The app channel of an HTTP app (Dapr's default `appProtocol: http`): `GET /dapr/subscribe`, `POST {route}`
 * with the CloudEvent (docs.dapr.io/reference/api/pubsub_api), and service invocation (forward.ts).
 */
import type { AppConfig } from '../../core/config/index.ts'
import { verdictOf } from '../pubsub/app-response.ts'
import { CE_CONTENT_TYPE } from '../pubsub/cloudevent.ts'
import type { AppChannel, ChannelEvent, ChannelInvoke, ChannelResponse, SubscriptionsAnswer } from './app-channel.ts'
import { callApp } from './app-http.ts'
import { invokeApp } from './forward.ts'

export interface HttpTarget { appId: string; host: string; port: number }

export class HttpAppChannel implements AppChannel {
  readonly protocol = 'http' as const
  readonly #t: HttpTarget
  readonly #app: AppConfig | undefined

  /** `app`: its invocation policy (deadline, retries); needed for invoke only. */
  constructor (target: HttpTarget, app?: AppConfig) {
    this.#t = target
    this.#app = app
  }

  async invoke (call: ChannelInvoke): Promise<ChannelResponse> {
    if (this.#app === undefined) throw new TypeError('HttpAppChannel.invoke needs the app config')
    return await invokeApp({ app: this.#app, method: call.verb, path: call.path, headers: call.headers, ...(call.body === undefined ? {} : { body: call.body }), callerId: call.callerId, maxResponseBytes: call.maxResponseBytes, ...(call.sleep === undefined ? {} : { sleep: call.sleep }) })
  }

  async subscriptions (timeoutMs: number, signal: AbortSignal): Promise<SubscriptionsAnswer> {
    const t = this.#t
    const r = await callApp({ host: t.host, port: t.port, method: 'GET', path: '/dapr/subscribe', headers: { accept: 'application/json' }, timeoutMs, maxResponseBytes: 1024 * 1024, signal })
    if (r.kind !== 'response') return { up: false, why: r.message }
    // Only a list, or a 404 (none), says what the app wants; any other answer keeps what it had.
    if (r.status === 404) return { up: true, list: [] }
    if (r.status !== 200) return { up: true, list: undefined }
    try { return { up: true, list: JSON.parse(r.body.toString('utf8')) } } catch { return { up: true, list: undefined } }
  }

  async deliver (ev: ChannelEvent): Promise<ReturnType<typeof verdictOf>> {
    const { ce } = ev
    const r = await callApp({
      host: this.#t.host,
      port: this.#t.port,
      method: 'POST',
      path: ev.path,
      headers: { 'content-type': CE_CONTENT_TYPE, ...(typeof ce.traceparent === 'string' ? { traceparent: ce.traceparent } : {}), pubsubname: ev.pubsubname, topic: String(ce.topic ?? '') },
      body: JSON.stringify(ce),
      timeoutMs: ev.timeoutMs,
      maxResponseBytes: 64 * 1024,
      signal: ev.signal,
    })
    return verdictOf(r)
  }

  async close (): Promise<void> {}
}
