/**
 * The link's status as a discriminated union, emitted by a typed emitter and readable as an async iterator;
 * `/v1.0/metadata`, metrics, the UI and the retained `mecha/cloud/status` topic all read the same stream.
 */
import type { Ledger } from './ledger.ts'

export type CloudStatus =
  | { type: 'connecting'; url: string; attempt: number; at: number }
  | { type: 'connected'; url: string; protocolVersion: 4 | 5; at: number }
  | { type: 'draining'; backlog: number; backlogBytes: number; inflight: number; sentPerSecond: number; at: number }
  | { type: 'drained'; at: number }
  | { type: 'disconnected'; reason: string; code?: number; url?: string; at: number }
  | { type: 'backoff'; attempt: number; delayMs: number; nextAttemptAt: number; at: number }
  | { type: 'outbox-full'; policy: 'drop-oldest' | 'reject-new'; count: number; bytes: number; at: number }
  /** A write to the outbox failed (a full disk, a failing flash): the publisher was not acknowledged. */
  | { type: 'outbox-error'; reason: string; errors: number; at: number }
  | { type: 'closed'; at: number }

export type CloudStatusType = CloudStatus['type']

/** What `CloudBridge.snapshot()` answers: the latest status plus the ledger. */
export interface CloudSnapshot { status: CloudStatus; connected: boolean; url: string | undefined; ledger: Ledger }

export { StatusStream } from '../core/status-stream.ts'
