/**
 * A running runtime as its users see it: `/v1.0/metadata` on the Dapr API and `/metrics` on the metrics
 * listener, both over HTTP. The runtime exposes no parts (test/architecture/runtime-surface.test.ts), so
 * tests wait on and assert what a user, an SDK or Prometheus would read.
 */
import type { Addresses } from '../../edge/runtime.ts'
import { metricValue, scrape } from './prometheus.ts'

interface Listening { readonly addresses: Readonly<Addresses> }

/** A subscription as `/v1.0/metadata` lists it; the app it delivers to is `metadata['mecha.appId']`. */
export interface ListedSubscription { pubsubname: string; topic: string; type: 'DECLARATIVE' | 'PROGRAMMATIC'; deadLetterTopic: string; metadata: Record<string, string>; rules: unknown }

export interface Metadata { id: string; subscriptions: ListedSubscription[]; extended: Record<string, string>; [k: string]: unknown }

export async function metadata (rt: Listening): Promise<Metadata> {
  const res = await fetch(`http://127.0.0.1:${rt.addresses.api!.port}/v1.0/metadata`)
  if (res.status !== 200) throw new Error(`/v1.0/metadata answered ${res.status}`)
  return await res.json() as Metadata
}

/** The subscriptions `/v1.0/metadata` lists, with the app each one delivers to. */
export async function subscriptionsOf (rt: Listening): Promise<Array<ListedSubscription & { appId: string }>> {
  return (await metadata(rt)).subscriptions.map((s) => ({ ...s, appId: s.metadata['mecha.appId'] }))
}

/** `extended['subscriptions.<app>']`: ready, opening, unhealthy, discovering or closed (edge/root/metadata-extended.ts). */
export async function subscriptionState (rt: Listening, appId: string): Promise<string | undefined> {
  return (await metadata(rt)).extended[`subscriptions.${appId}`]
}

/** True once the app answered `/dapr/subscribe` and every one of its subscriptions delivers. */
export async function subscriptionsReady (rt: Listening, appId: string): Promise<boolean> {
  return await subscriptionState(rt, appId) === 'ready'
}

/** The runtime's `/metrics` text. */
export async function metricsText (rt: Listening): Promise<string> {
  return await scrape(rt.addresses.metrics!.port)
}

export type Outcomes = Record<'success' | 'drop' | 'deadletter' | 'expired' | 'retries', number>

/** One subscription's delivery outcomes, from `mecha_pubsub_delivered_total` and `mecha_pubsub_delivery_retries_total`. */
export async function deliveryOutcomes (rt: Listening, app: string, subscription: string): Promise<Outcomes> {
  const text = await metricsText(rt)
  const out = { retries: metricValue(text, 'mecha_pubsub_delivery_retries_total', { app, subscription }) ?? 0 } as Outcomes
  for (const outcome of ['success', 'drop', 'deadletter', 'expired'] as const) {
    out[outcome] = metricValue(text, 'mecha_pubsub_delivered_total', { app, subscription, outcome }) ?? 0
  }
  return { success: out.success, drop: out.drop, deadletter: out.deadletter, expired: out.expired, retries: out.retries }
}

/** Polls an async condition every 20 ms until it holds, at most `timeoutMs`. */
export async function eventually (pred: () => Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await pred())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
