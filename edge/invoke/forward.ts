/**
 * One service invocation, runtime → app (docs.dapr.io/reference/api/service_invocation_api): the method path
 * and query string verbatim, headers passed through except hop-by-hop ones (RFC 9110 7.6.1) and the
 * runtime's own token, the app's status, headers and body passed back. Calls that never reached the app
 * (refused, reset on a stale keep-alive socket) are retried at a constant interval, as Dapr's built-in
 * service invocation retries do (docs.dapr.io/operations/resiliency/policies/default-policies); a call the
 * app may have received is never repeated.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { AppConfig } from '../../core/config/index.ts'
import { MechaError } from '../../core/errors.ts'
import { callApp, type AppCallResult } from './app-http.ts'
import type { ChannelInvoke, ChannelResponse } from './app-channel.ts'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'])
/** The API token is the runtime's secret, never the app's business. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'dapr-api-token', 'dapr-app-id'])

/** One invocation as the API received it: the channel's request, plus the target app and the method. */
export interface InvokeRequest extends Omit<ChannelInvoke, 'verb'> {
  app: AppConfig
  method: string
}

export type InvokeResponse = ChannelResponse

export function requestHeaders (h: IncomingHttpHeaders, callerId: string, calleeId: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !NOT_FORWARDED.has(k)) out[k] = v
  out['dapr-caller-app-id'] = callerId
  out['dapr-callee-app-id'] = calleeId
  return out
}

export function responseHeaders (h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v
  return out
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function invokeApp (req: InvokeRequest): Promise<InvokeResponse> {
  const { app } = req
  if (app.appPort === undefined) throw new MechaError('ERR_DIRECT_INVOKE', `app ${app.id} has no appPort; it cannot be invoked`)
  const policy = app.invoke
  const headers = requestHeaders(req.headers, req.callerId, app.id)
  let r: AppCallResult
  for (let attempt = 0; ; attempt++) {
    r = await callApp({
      host: app.appHost,
      port: app.appPort,
      method: req.method,
      path: req.path,
      headers,
      ...(req.body === undefined || req.body.length === 0 ? {} : { body: req.body }),
      timeoutMs: policy.timeoutMs,
      maxResponseBytes: req.maxResponseBytes,
    })
    // A reset on a fresh connection may come after the app took the request (it crashed mid-call): not repeated.
    const retriable = r.kind === 'unreachable' || (r.kind === 'error' && r.staleSocket === true)
    if (!retriable || attempt >= policy.maxRetries) break
    await (req.sleep ?? wait)(policy.retryIntervalMs)
  }
  if (r.kind === 'response') return { status: r.status, headers: responseHeaders(r.headers), body: r.body }
  throw new MechaError('ERR_DIRECT_INVOKE', `failed to invoke, id: ${app.id}, err: ${r.message}`)
}
