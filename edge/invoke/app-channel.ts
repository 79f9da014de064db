/**
 * The seam between the runtime and one app, whatever protocol the app speaks (CONVENTIONS 14): Dapr's "app
 * channel". The HTTP channel calls `GET /dapr/subscribe`, `POST {route}` and the invoked path; the gRPC
 * channel (edge/grpc/app-channel.ts, `appProtocol: grpc`) calls `AppCallback` ListTopicSubscriptions,
 * OnTopicEvent and OnInvoke. Delivery, discovery and invocation above it are the same for both, so retry,
 * dead-letter, ordering and persistent-session guarantees hold unchanged.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { CloudEvent } from '../pubsub/cloudevent.ts'
import type { Verdict } from '../pubsub/app-response.ts'

/** One invocation, runtime → app, in HTTP terms (gRPC OnInvoke carries the verb and query in http_extension). */
export interface ChannelInvoke {
  /** The HTTP verb (GET, POST …). */
  verb: string
  /** `/method/path?query`, exactly as the caller gave it. */
  path: string
  headers: IncomingHttpHeaders
  body?: Buffer
  callerId: string
  maxResponseBytes: number
  sleep?: (ms: number) => Promise<void>
}

export interface ChannelResponse { status: number; headers: OutgoingHttpHeaders; body: Buffer }

/** The app's answer to "which topics do you want": `list` in the `/dapr/subscribe` JSON shape, undefined = keep. */
export type SubscriptionsAnswer = { up: true; list: unknown } | { up: false; why: string }

export interface ChannelEvent {
  /** The route the subscription's rules chose. */
  path: string
  ce: CloudEvent
  pubsubname: string
  timeoutMs: number
  signal: AbortSignal
}

export interface AppChannel {
  readonly protocol: 'http' | 'grpc'
  /** Service invocation; throws ERR_DIRECT_INVOKE when the app cannot be reached or fails below HTTP. */
  invoke(call: ChannelInvoke): Promise<ChannelResponse>
  /** Programmatic subscriptions; any answer means the app is up. */
  subscriptions(timeoutMs: number, signal: AbortSignal): Promise<SubscriptionsAnswer>
  /** One event delivery attempt. */
  deliver(ev: ChannelEvent): Promise<{ verdict: Verdict; why: string }>
  /** Idempotent; closes connections the channel holds. */
  close(): Promise<void>
}
