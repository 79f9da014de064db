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

type Listener = (s: CloudStatus) => void

const ITERATOR_BUFFER = 256

export class StatusStream {
  #current: CloudStatus
  readonly #listeners = new Set<Listener>()
  readonly #ends = new Set<() => void>()
  #closed = false

  constructor (initial: CloudStatus) { this.#current = initial }

  get current (): CloudStatus { return this.#current }

  emit (s: CloudStatus): void {
    if (this.#closed) return
    this.#current = s
    for (const l of [...this.#listeners]) {
      try { l(s) } catch { /* a listener's bug must not stop the link */ }
    }
  }

  /** Calls `fn` on each status; returns the function that stops it. */
  on (fn: Listener): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Each iterator gets the current status first, then every change; a slow reader loses the oldest ones. */
  [Symbol.asyncIterator] (): AsyncIterableIterator<CloudStatus> {
    const buffer: CloudStatus[] = [this.#current]
    let wake: (() => void) | undefined
    let done = this.#closed
    const off = this.on((s) => {
      buffer.push(s)
      if (buffer.length > ITERATOR_BUFFER) buffer.shift()
      wake?.()
    })
    const end = (): void => { done = true; off(); this.#ends.delete(end); wake?.() }
    this.#ends.add(end)
    const it: AsyncIterableIterator<CloudStatus> = {
      next: async () => {
        while (buffer.length === 0 && !done) await new Promise<void>((resolve) => { wake = resolve })
        wake = undefined
        const value = buffer.shift()
        return value === undefined ? { done: true, value: undefined } : { done: false, value }
      },
      return: async () => { end(); buffer.length = 0; return { done: true, value: undefined } },
      [Symbol.asyncIterator] () { return it },
    }
    return it
  }

  close (): void {
    this.#closed = true
    for (const end of [...this.#ends]) end()
    this.#listeners.clear()
  }
}
