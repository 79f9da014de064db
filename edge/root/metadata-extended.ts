/** The `extended` figures of `/v1.0/metadata` that come from parts (Dapr leaves this map to the runtime). */
import type { CloudBridge } from '../../cloud-bridge/index.ts'
import type { HostedBindingInfo } from '../bindings/index.ts'
import type { SubscriptionManager } from '../pubsub/index.ts'

export function cloudExtended (cloud: CloudBridge | undefined): Record<string, string> {
  if (cloud === undefined) return { 'cloud.status': 'not-configured' }
  const snap = cloud.snapshot()
  const l = snap.ledger
  return {
    'cloud.status': snap.status.type,
    'cloud.connected': String(snap.connected),
    'cloud.url': snap.url ?? '',
    'cloud.outbox.accepted': String(l.accepted),
    'cloud.outbox.delivered': String(l.delivered),
    'cloud.outbox.queued': String(l.queued),
    'cloud.outbox.queuedBytes': String(l.queuedBytes),
    'cloud.outbox.dropped': JSON.stringify(l.dropped),
    'cloud.outbox.rejectedNew': String(l.rejectedNew),
    'cloud.outbox.writeErrors': String(cloud.stats().writeErrors),
  }
}

/** One line per binding: status and counters. */
export function bindingExtended (bindings: Iterable<HostedBindingInfo>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const b of bindings) {
    const last = b.counters.lastEventAt === undefined ? '' : `, last event ${new Date(b.counters.lastEventAt).toISOString()}`
    out[`binding.${b.name}`] = `${b.status.type}, ${b.counters.events} events, ${b.counters.errors} errors, ${b.counters.reconnects} reconnects${last}`
  }
  return out
}

/**
 * One line per app the runtime delivers events to (an app with an `appPort`): `ready` once it answered
 * `GET /dapr/subscribe` and every subscription's session is open (an event published now reaches it),
 * `opening` while those sessions open, `unhealthy` while it fails its health probes, `discovering` while
 * the app is not answering (not started yet, down, or unreachable); in both its events queue in the broker;
 * `closed` while the runtime stops. What an operator (or a
 * test) waits for before expecting deliveries.
 */
export function subscriptionExtended (appIds: Iterable<string>, subs: Pick<SubscriptionManager, 'appState' | 'appReady'> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (subs === undefined) return out
  for (const id of appIds) {
    const state = subs.appState(id)
    if (state === undefined) continue
    out[`subscriptions.${id}`] = subs.appReady(id) ? 'ready' : state === 'up' ? 'opening' : state
  }
  return out
}
