/**
 * Input-binding events to the app, as Dapr delivers them (docs.dapr.io/reference/api/bindings_api, "Invoking
 * service code through input bindings"): `POST /{name}` (or the component's `route`) with the event as the
 * body; a 2xx is the ack, anything else is retried with exponential backoff plus jitter, a bounded number of
 * times, and then dropped (counted, logged). The app caller is injected: the runtime passes `callApp`
 * (edge/invoke/app-http.ts), tests pass their own.
 */
import { Backoff, type BackoffOptions } from '../../core/backoff.ts'
import { systemClock, type Clock } from '../../core/clock.ts'
import type { Logger } from '../../core/logger.ts'
import type { AppCall, AppCallResult } from '../invoke/app-http.ts'

export type AppCaller = (call: AppCall) => Promise<AppCallResult>

/** Delivers one event; resolves true when the app acknowledged it, false when it was given up. */
export type DeliverToApp = (binding: string, route: string, body: Buffer) => Promise<boolean>

export interface AppDeliveryOptions {
  host: string
  port: number
  call: AppCaller
  log: Logger
  /** Sent as `dapr-api-token` when the app has an app token (Dapr's APP_API_TOKEN). */
  appToken?: string
  /** @default 5000 */
  timeoutMs?: number
  /** Tries in all, the first included. @default 5 */
  maxAttempts?: number
  /** @default { initialMs: 200, maxMs: 10000 } */
  backoff?: BackoffOptions
  clock?: Clock
}

export function appDelivery (o: AppDeliveryOptions): DeliverToApp {
  const clock = o.clock ?? systemClock
  const maxAttempts = o.maxAttempts ?? 5
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => { clock.setTimeout(resolve, ms) })
  return async (binding, route, body) => {
    const backoff = new Backoff(o.backoff ?? { initialMs: 200, maxMs: 10_000 })
    let last = ''
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const r = await o.call({
        host: o.host, port: o.port, method: 'POST', path: route, body, timeoutMs: o.timeoutMs ?? 5000,
        headers: { 'content-type': 'application/json', ...(o.appToken !== undefined ? { 'dapr-api-token': o.appToken } : {}) },
      })
      if (r.kind === 'response' && r.status >= 200 && r.status < 300) return true
      last = r.kind === 'response' ? `status ${r.status}` : `${r.kind}: ${r.message}`
      if (attempt < maxAttempts) await sleep(backoff.next())
    }
    o.log.warn({ binding, route, attempts: maxAttempts, last }, 'input binding event not delivered to the app; dropped')
    return false
  }
}
