/**
 * The checks of a round, as pure functions of the journal and what the receivers saw, so each one can be read
 * (and tested) apart from the processes. Only acknowledged operations are promised; a publish or write in
 * flight at the kill may or may not have happened, and the checks accept both.
 */
import type { Journal, SentMessage } from './workload.ts'

export type Kind = 'publish' | 'retained' | 'state' | 'forward'
export const KINDS: readonly Kind[] = ['publish', 'retained', 'state', 'forward']

/**
 * `acked`: operations the runtime acknowledged; `checked`: promises verified (an acknowledged publish counts
 * once per persistent subscriber); `lost`: promises broken; `orderViolations`: first occurrences out of
 * per-topic per-publisher order; `duplicates`: redeliveries (allowed: at least once).
 */
export interface Figures { acked: number; checked: number; lost: number; orderViolations: number; duplicates: number }

export const noFigures = (): Figures => ({ acked: 0, checked: 0, lost: 0, orderViolations: 0, duplicates: 0 })

export function addFigures (into: Figures, f: Figures): void {
  into.acked += f.acked; into.checked += f.checked; into.lost += f.lost
  into.orderViolations += f.orderViolations; into.duplicates += f.duplicates
}

export interface Received { topic: string; payload: string }

export interface DeliveryCheck extends Figures {
  /** Messages nobody sent (or on another topic than sent): each is a failure. */
  phantoms: string[]
  /** A few of the lost ones, for the failure message. */
  lostSample: string[]
}

/**
 * At least once, in order: every acknowledged message that `expect` selects is among `received`; after
 * dropping duplicates, the first occurrences of each (topic, publisher) come in publish order.
 * `toLocal` maps a received topic back to the local one (the cloud side adds the forward prefix).
 */
export function checkDeliveries (journal: Journal, received: readonly Received[], expect: (m: SentMessage) => boolean, toLocal: (topic: string) => string = (t) => t): DeliveryCheck {
  const out: DeliveryCheck = { ...noFigures(), phantoms: [], lostSample: [] }
  const seen = new Set<string>()
  const lastSeq = new Map<string, number>()
  for (const r of received) {
    const m = journal.messages.get(r.payload)
    if (m === undefined || m.topic !== toLocal(r.topic)) { out.phantoms.push(`${r.topic} ${r.payload}`); continue }
    if (!expect(m)) continue
    if (seen.has(r.payload)) { out.duplicates++; continue }
    seen.add(r.payload)
    const stream = `${m.topic}|${m.from}`
    if ((lastSeq.get(stream) ?? -1) >= m.seq) out.orderViolations++
    lastSeq.set(stream, m.seq)
  }
  for (const [payload, m] of journal.messages) {
    if (!m.acked || !expect(m)) continue
    out.acked++; out.checked++
    if (!seen.has(payload)) { out.lost++; if (out.lostSample.length < 5) out.lostSample.push(`${m.topic} ${payload}`) }
  }
  return out
}

/** The retained value of each topic: its last acknowledged publish, or a later one that was in flight. */
export function checkRetained (journal: Journal, got: ReadonlyMap<string, string>): DeliveryCheck {
  const out: DeliveryCheck = { ...noFigures(), phantoms: [], lostSample: [] }
  const lastAcked = new Map<string, number>()
  const topics = new Set<string>()
  for (const m of journal.messages.values()) {
    if (!m.retain) continue
    topics.add(m.topic)
    if (m.acked) { out.acked++; lastAcked.set(m.topic, Math.max(lastAcked.get(m.topic) ?? -1, m.seq)) }
  }
  for (const [topic, payload] of got) {
    const m = journal.messages.get(payload)
    if (m === undefined || !m.retain || m.topic !== topic) out.phantoms.push(`${topic} ${payload}`)
  }
  for (const topic of topics) {
    const want = lastAcked.get(topic)
    if (want === undefined) continue // only in-flight updates: absent or any of them is fine
    out.checked++
    const payload = got.get(topic)
    const m = payload === undefined ? undefined : journal.messages.get(payload)
    if (m === undefined || m.topic !== topic || m.seq < want) {
      out.lost++
      if (out.lostSample.length < 5) out.lostSample.push(`${topic}: has ${payload ?? 'nothing'}, last acknowledged ret:${want}`)
    }
  }
  return out
}

export interface StateCheck extends Figures {
  /** A transaction in flight at the kill that is applied to some of its keys and not to others. */
  atomicityViolations: number
  lostSample: string[]
}

const ABSENT = '<absent>'
const show = (v: unknown): string => v === null || v === undefined ? ABSENT : JSON.stringify(v)

/**
 * `observed`: key → value read back after the restart (`undefined` when absent). Each key's value must be its
 * last acknowledged one or that of a later write still in flight at the kill (each worker stops at its first
 * unanswered request, so only its very last request can be in doubt).
 */
export function checkState (journal: Journal, observed: ReadonlyMap<string, unknown>): StateCheck {
  const out: StateCheck = { ...noFigures(), atomicityViolations: 0, lostSample: [] }
  const byKey = new Map<string, Array<{ value: unknown; acked: boolean }>>()
  for (const w of journal.writes) {
    if (w.status === 'acked') out.acked++
    for (const [k, v] of w.values) {
      const list = byKey.get(k) ?? []
      list.push({ value: v, acked: w.status === 'acked' }); byKey.set(k, list)
    }
  }
  const oldOf = new Map<string, string>()
  for (const [key, list] of byKey) {
    let last = -1
    list.forEach((w, i) => { if (w.acked) last = i })
    const before = last < 0 ? ABSENT : show(list[last].value)
    oldOf.set(key, before)
    const allowed = new Set([before, ...list.slice(last + 1).map((w) => show(w.value))])
    const seen = show(observed.get(key))
    if (last >= 0) out.checked++
    if (!allowed.has(seen)) {
      out.lost++
      if (out.lostSample.length < 5) out.lostSample.push(`${key}: has ${seen}, allowed ${[...allowed].join(' or ')}`)
    }
  }
  for (const w of journal.writes) {
    if (w.status !== 'unknown' || w.values.size < 2) continue
    let applied = 0; let notApplied = 0
    for (const [k, v] of w.values) {
      if (show(v) === oldOf.get(k)) continue // the write would not change this key: it tells nothing
      if (show(observed.get(k)) === show(v)) applied++; else notApplied++
    }
    if (applied > 0 && notApplied > 0) out.atomicityViolations++
  }
  return out
}

export interface LedgerView { accepted: number; delivered: number; dropped: number; queued: number; balanced: boolean }

/** The outbox ledger from `GET /v1.0/metadata` (extended `cloud.outbox.*`): accepted = delivered + dropped + queued. */
export async function readLedger (apiUrl: string): Promise<LedgerView> {
  const res = await fetch(`${apiUrl}/v1.0/metadata`, { signal: AbortSignal.timeout(5000) })
  const meta = await res.json() as { extended?: Record<string, string> }
  const x = meta.extended ?? {}
  const num = (k: string): number => {
    const v = Number(x[`cloud.outbox.${k}`])
    if (!Number.isFinite(v)) throw new Error(`metadata has no cloud.outbox.${k}: ${JSON.stringify(x)}`)
    return v
  }
  const droppedByReason = JSON.parse(x['cloud.outbox.dropped'] ?? '{}') as Record<string, number>
  const dropped = Object.values(droppedByReason).reduce((a, b) => a + b, 0)
  const l = { accepted: num('accepted'), delivered: num('delivered'), queued: num('queued'), dropped }
  return { ...l, balanced: l.accepted === l.delivered + l.dropped + l.queued }
}
