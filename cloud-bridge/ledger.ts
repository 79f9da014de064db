/**
 * The outbox's account of every message it accepted. It is persisted in the same atomic batch as the entries
 * it describes, so after any crash `accepted = delivered + Σ dropped + queued` still holds exactly.
 */

/** Why an accepted message left the outbox without reaching the cloud. */
export type DropReason =
  /** Evicted to make room (`whenFull`, lowest priority first). */
  | 'full'
  /** Older than its rule's `ttlSeconds` before it could be sent. */
  | 'expired'
  /** The cloud broker answered with an MQTT 5 reason code ≥ 0x80; dead-lettered on `mecha/cloud/rejected`. */
  | 'refused'
  /** The stored entry could not be decoded; moved to quarantine. */
  | 'corrupt'
  /** A QoS 0 message of a rule with `queueQos0: false` arrived while the link was down. */
  | 'offline'
  /** Dropped by an operator: the admin API's (and web UI's) "Drop queued messages". */
  | 'admin'

export const DROP_REASONS: readonly DropReason[] = ['full', 'expired', 'refused', 'corrupt', 'offline', 'admin']

export interface LedgerCounters {
  accepted: number
  delivered: number
  dropped: Record<DropReason, number>
  /** Refused at the door (`reject-new`, or no lower priority to evict): never accepted, so outside the balance. */
  rejectedNew: number
}

export interface Ledger extends LedgerCounters {
  queued: number
  queuedBytes: number
  /** True when accepted = delivered + Σ dropped + queued. */
  balanced: boolean
}

export function emptyCounters (): LedgerCounters {
  return { accepted: 0, delivered: 0, dropped: { full: 0, expired: 0, refused: 0, corrupt: 0, offline: 0, admin: 0 }, rejectedNew: 0 }
}

export function cloneCounters (c: LedgerCounters): LedgerCounters {
  return { ...c, dropped: { ...c.dropped } }
}

export interface LedgerDelta {
  accepted?: number
  delivered?: number
  rejectedNew?: number
  dropped?: Partial<Record<DropReason, number>>
}

/** Adds `d` into `into` (in place). */
export function addCounters (into: LedgerCounters, d: LedgerDelta): void {
  into.accepted += d.accepted ?? 0
  into.delivered += d.delivered ?? 0
  into.rejectedNew += d.rejectedNew ?? 0
  if (d.dropped !== undefined) for (const r of DROP_REASONS) into.dropped[r] += d.dropped[r] ?? 0
}

export function totalDropped (c: LedgerCounters): number {
  return DROP_REASONS.reduce((a, r) => a + c.dropped[r], 0)
}

export function toLedger (c: LedgerCounters, queued: number, queuedBytes: number): Ledger {
  const out = cloneCounters(c)
  return { ...out, queued, queuedBytes, balanced: c.accepted === c.delivered + totalDropped(c) + queued }
}
