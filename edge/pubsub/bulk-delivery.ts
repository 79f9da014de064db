/**
 * Bulk subscribe (docs.dapr.io/developing-applications/building-blocks/pubsub/pubsub-bulk): messages are
 * gathered until `maxMessagesCount` or `maxAwaitDurationMs`, then sent in one request per route as
 * `{entries: [{entryId, event, contentType, metadata}], …}`; the app answers a status per entry. Entries it
 * retries are sent again (with backoff) until the budget is spent, then dead-lettered or dropped, one by one.
 * One batch at a time, so order holds across batches.
 */
import { randomUUID } from 'node:crypto'
import { callApp } from '../invoke/app-http.ts'
import { bulkVerdictsOf } from './app-response.ts'
import { isExpired, type CloudEvent } from './cloudevent.ts'
import { sleep } from './dead-letter.ts'
import type { Delivery } from './delivery.ts'
import { mayRetry, retryDelay } from './retry-policy.ts'
import type { SessionMessage } from './session.ts'

interface Entry { entryId: string; msg: SessionMessage; ce: CloudEvent }

export class BulkDelivery {
  readonly #delivery: Delivery
  readonly #max: number
  readonly #awaitMs: number
  readonly #signal: AbortSignal
  #batch: Entry[] = []
  #timer: unknown
  #chain: Promise<void> = Promise.resolve()

  constructor (delivery: Delivery, opts: { maxMessagesCount: number; maxAwaitDurationMs: number }, signal: AbortSignal) {
    this.#delivery = delivery
    this.#max = opts.maxMessagesCount
    this.#awaitMs = opts.maxAwaitDurationMs
    this.#signal = signal
  }

  add (msg: SessionMessage): void {
    this.#batch.push({ entryId: randomUUID(), msg, ce: this.#delivery.event(msg) })
    if (this.#batch.length >= this.#max) this.#flush()
    else if (this.#timer === undefined) this.#timer = this.#delivery.deps.clock.setTimeout(() => { this.#flush() }, this.#awaitMs)
  }

  close (): void {
    if (this.#timer !== undefined) this.#delivery.deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#batch = []
  }

  #flush (): void {
    if (this.#timer !== undefined) this.#delivery.deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = this.#batch
    this.#batch = []
    if (batch.length === 0) return
    this.#chain = this.#chain.then(() => this.#send(batch)).catch((err) => { this.#delivery.deps.log.error({ err }, 'bulk delivery failed unexpectedly; the events stay queued') })
  }

  async #send (batch: Entry[]): Promise<void> {
    const { router, metrics, target, sub } = this.#delivery.deps
    const label = [target.appId, sub.name] as const
    const byPath = new Map<string, Entry[]>()
    for (const e of batch) {
      if (isExpired(e.ce, this.#delivery.deps.clock.now())) { metrics.delivered(...label, 'expired'); e.msg.settle(); continue }
      const path = router.route(e.ce)
      if (path === undefined) { metrics.delivered(...label, 'drop'); e.msg.settle(); continue }
      byPath.set(path, [...(byPath.get(path) ?? []), e])
    }
    for (const [path, entries] of byPath) {
      if (!await this.#sendPath(path, entries)) return
    }
  }

  /** False when the app is unreachable or the session closed: the rest stays unsettled, for the broker to resend. */
  async #sendPath (path: string, entries: Entry[]): Promise<boolean> {
    const d = this.#delivery.deps
    const label = [d.target.appId, d.sub.name] as const
    let pending = entries
    for (let retries = 0; pending.length > 0; retries++) {
      if (this.#signal.aborted) return false
      const r = await callApp({ host: d.target.host, port: d.target.port, method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(this.#body(pending)), timeoutMs: d.sub.delivery.timeoutMs, maxResponseBytes: 1024 * 1024, signal: this.#signal })
      if (this.#signal.aborted) return false
      const v = bulkVerdictsOf(r)
      if (v.all?.verdict === 'unreachable') { d.onUnreachable(v.all.why); return false }
      const retry: Entry[] = []
      for (const e of pending) {
        const verdict = v.all?.verdict ?? v.byEntry.get(e.entryId) ?? 'retry'
        if (verdict === 'success' || verdict === 'drop') { d.metrics.delivered(...label, verdict); e.msg.settle() } else retry.push(e)
      }
      pending = retry
      if (pending.length === 0) break
      if (!mayRetry(d.sub.delivery.retry, retries)) {
        for (const e of pending) {
          if (await this.#delivery.exhausted(e.ce, 'bulk retries exhausted', this.#signal) !== 'settle') return false
          e.msg.settle()
        }
        break
      }
      d.metrics.retried(...label)
      if (!await sleep(d.clock, retryDelay(d.sub.delivery.retry, retries, d.random), this.#signal)) return false
    }
    return true
  }

  #body (entries: Entry[]): object {
    const { sub } = this.#delivery.deps
    return {
      id: randomUUID(),
      pubsubname: sub.pubsubname,
      topic: sub.topic,
      type: 'com.dapr.event.sent.bulk',
      metadata: {},
      entries: entries.map((e) => sub.rawPayload
        ? { entryId: e.entryId, event: e.ce.data_base64 ?? '', contentType: 'application/octet-stream', metadata: {} }
        : { entryId: e.entryId, event: e.ce, contentType: 'application/cloudevents+json', metadata: {} }),
    }
  }
}
