/**
 * Moves messages from the outbox to the cloud at the link's pace: a window of unacknowledged publishes, each
 * acknowledgement immediately making room for the next (no timer ticks), reading ahead from the outbox in
 * order. Everything — backlog and live traffic — goes through the outbox cursor, so live messages can never
 * overtake the backlog and per-topic order holds across reconnects and restarts. Once a level is caught up,
 * a freshly written entry is handed over with its write (`notify`) instead of being read back: the cursor
 * simply advances over it, so the order is the same either way.
 *
 * Entries the sender holds but has not published (read ahead, or waiting for a fuller batch) can still be
 * evicted by the outbox, which withdraws them (`withdraw`) in the same step as it decides: they leave the
 * buffer (or the result of a read in progress) and are never published. An entry is marked in flight
 * (`markSending`) in the same step as it leaves the buffer, and from then on the outbox does not evict it.
 */
import type { IClientPublishOptions } from 'mqtt'
import type { Clock } from '../core/clock.ts'
import type { Logger } from '../core/logger.ts'
import type { Outbox, QueuedItem } from './outbox.ts'
import { wrapEnvelope, type EnvelopeKind } from './envelope.ts'
import { BATCH_CONTENT_TYPE, encodeBatch, unbatchedWireBytes } from './batch-codec.ts'
import { keyPriority } from './outbox-entry.ts'
import type { PublishChannel } from './raw-publisher.ts'
import { SENDER_ID_COUNT } from './packet-ids.ts'

export interface BatchLimits { maxMessages: number; maxDelayMs: number }

export interface SenderOptions {
  outbox: Outbox
  nodeId: string
  protocolVersion: 4 | 5
  envelope: EnvelopeKind
  window: number
  clock: Clock
  log: Logger
  /** Limits per batch topic (from the forward rules). */
  batches: ReadonlyMap<string, BatchLimits>
  /** The cloud refused these with an MQTT 5 reason code ≥ 0x80; they are already counted and removed. */
  onRefused: (items: QueuedItem[], code: number, reason: string) => void
  /** Something was acknowledged or dropped: backlog figures changed. */
  onProgress: () => void
  /** A publish failed without a reason code (the connection is broken): reconnect. */
  onBroken: (reason: string) => void
}

interface Level {
  buf: QueuedItem[]
  cursor: string | undefined
  exhausted: boolean
  holdUntil: number
  holdTimer: unknown
  /** Reads of this level in progress, and keys withdrawn meanwhile (their results must not keep them). */
  reading: number
  withdrawn: Set<string>
  /** Bumped whenever entries leave `buf` from outside the pump (withdrawn): a batch being assembled starts over. */
  revision: number
  /** Read the level again from its start at the next opportunity (withdrawn entries stayed after all). */
  rewind: boolean
}

const freshLevel = (): Level => ({ buf: [], cursor: undefined, exhausted: false, holdUntil: 0, holdTimer: undefined, reading: 0, withdrawn: new Set(), revision: 0, rewind: false })

const READ_AHEAD = 256
const noop = (): void => {}

export class Sender {
  readonly #o: SenderOptions
  #client: PublishChannel | undefined
  #window: number
  #gen = 0
  #inflight = 0
  #levels: Level[] = []
  /** Per level, the key of the newest entry the outbox reported written; it outlives connections (it is about the disk). */
  readonly #landed: Array<string | undefined> = new Array(10).fill(undefined)
  #pumping = false
  #again = false
  #delivered = 0
  #bytesSaved = 0
  #batchesSent = 0
  #handedOver = 0
  #withdrawn = 0
  /**
   * Acknowledged entries whose delete is not yet handed to the outbox (one write per turn, not one per ack).
   * They stay marked in flight until then, so eviction cannot take a message the cloud already has.
   */
  #acked: QueuedItem[] = []
  #ackFlush = false

  constructor (o: SenderOptions) {
    this.#o = o
    this.#window = o.window
    this.#resetLevels()
    // Wired here, not by the caller: without them an evicted entry could be published and counted twice.
    o.outbox.onWithdraw((keys) => { this.withdraw(keys) })
    o.outbox.onRestore((priorities) => { this.rewind(priorities) })
  }

  get inflight (): number { return this.#inflight }
  /** Messages acknowledged by the cloud since start. */
  get delivered (): number { return this.#delivered }
  get batchStats (): { batches: number; bytesSaved: number } { return { batches: this.#batchesSent, bytesSaved: this.#bytesSaved } }
  /** Entries taken straight from their write (caught up) rather than read back from the outbox. */
  get handedOver (): number { return this.#handedOver }
  /** Entries held but not yet published that the outbox evicted (or expired) and took back. */
  get withdrawn (): number { return this.#withdrawn }

  attach (client: PublishChannel, receiveMaximum: number): void {
    this.#gen++
    this.#client = client
    // Never more in flight than the broker allows (MQTT 5 Receive Maximum, §3.2.2.3.3), nor than there are
    // packet ids for our publishes.
    this.#window = Math.max(1, Math.min(this.#o.window, receiveMaximum, SENDER_ID_COUNT))
    this.#flushAcked()
    this.#resetLevels()
    this.#inflight = 0
    this.#o.outbox.clearSending()
    this.pump()
  }

  /** The connection is gone: whatever was in flight stays in the outbox and is sent again on the next one. */
  detach (): void {
    this.#gen++
    this.#client = undefined
    this.#inflight = 0
    this.#flushAcked()
    this.#o.outbox.clearSending()
    this.#resetLevels()
  }

  /** An entry landed in the outbox (the outbox calls this in key order within a level). */
  notify (item: QueuedItem): void {
    const p = item.entry.priority
    const l = this.#levels[p]
    this.#landed[p] = item.key
    l.holdUntil = 0 // a waiting batch may be full now
    // A read may already have picked the entry up (LevelDB shows a write to iterators before its callback runs).
    if (l.cursor !== undefined && item.key <= l.cursor) { this.pump(); return }
    // Caught up (the cursor has seen everything written before this entry): it is the next one in order, so it
    // joins the buffer as is instead of being read back from disk. Otherwise — a backlog still ahead of it, a
    // read in progress, offline, or the buffer full because the cloud is slower than the publishers — the
    // cursor reads it in its turn, which also keeps memory bounded by READ_AHEAD.
    if (this.#client !== undefined && l.exhausted && l.buf.length < READ_AHEAD) {
      l.buf.push(item)
      l.cursor = item.key
      this.#handedOver++
    } else {
      l.exhausted = false
    }
    this.pump()
  }

  /** Sends one message without queuing it (QoS 0 of a rule with `queueQos0: false`); false when offline. */
  sendDirect (topic: string, payload: Buffer, retain: boolean): boolean {
    if (this.#client === undefined) return false
    this.#client.publish(topic, payload, { qos: 0, retain }, noop)
    return true
  }

  #resetLevels (): void {
    for (const l of this.#levels) this.#o.clock.clearTimeout(l.holdTimer)
    this.#levels = Array.from({ length: 10 }, freshLevel)
  }

  /**
   * The outbox removed these entries without them being published (called synchronously with its decision):
   * drop them from the buffers, and from reads still in progress, so they are never published.
   */
  withdraw (keys: readonly string[]): void {
    const byLevel = new Map<number, Set<string>>()
    for (const k of keys) {
      const p = keyPriority(k)
      let set = byLevel.get(p)
      if (set === undefined) byLevel.set(p, set = new Set())
      set.add(k)
    }
    for (const [p, set] of byLevel) {
      const l = this.#levels[p]
      const before = l.buf.length
      if (before > 0) l.buf = l.buf.filter((i) => !set.has(i.key))
      if (l.buf.length !== before) { l.revision++; this.#withdrawn += before - l.buf.length }
      // Not in the buffer: a read in progress may still return it. Otherwise the cursor has not reached it and
      // later reads skip it (the outbox keeps it out of reads until its delete landed).
      if (l.reading > 0) for (const k of set) l.withdrawn.add(k)
    }
  }

  /** Withdrawn entries of these levels stayed after all: read the levels again. */
  rewind (priorities: readonly number[]): void {
    for (const p of priorities) this.#levels[p].rewind = true
    this.pump()
  }

  pump (): void {
    if (this.#pumping) { this.#again = true; return }
    this.#pumping = true
    void this.#run().catch((err) => { this.#o.log.error({ err: err as Error }, 'cloud sender failed') }).finally(() => { this.#pumping = false })
  }

  async #run (): Promise<void> {
    do {
      this.#again = false
      const gen = this.#gen
      while (this.#client !== undefined && gen === this.#gen && this.#inflight < this.#window) {
        // Most units are the head of a buffer: taken synchronously, without an async call per message.
        let unit = this.#nextBuffered()
        if (unit === null) unit = await this.#nextUnit(gen)
        if (unit === undefined || gen !== this.#gen) break
        this.#send(unit)
      }
    } while (this.#again)
  }

  /**
   * `#nextUnit` without its asynchronous cases: the next unit when it is a plain entry at the head of a buffer
   * and nothing before it in drain order needs a read, a rewind or a batch decision; undefined when nothing is
   * ready (every level exhausted or held); null when `#nextUnit` has to decide.
   */
  #nextBuffered (): QueuedItem[] | undefined | null {
    const now = this.#o.clock.now()
    for (let p = 0; p < 10; p++) {
      const l = this.#levels[p]
      if (l.rewind) return null
      if (l.holdUntil > now) continue
      if (l.buf.length === 0) {
        if (l.exhausted) continue
        return null
      }
      const item = l.buf[0]
      if (item.entry.batchTopic !== undefined || (item.entry.expiresAt !== 0 && item.entry.expiresAt <= now)) return null
      l.buf.shift()
      return this.#take([item])
    }
    return undefined
  }

  /** The next message (or batch) in drain order: most important level first, each level in arrival order. */
  async #nextUnit (gen: number): Promise<QueuedItem[] | undefined> {
    const now = this.#o.clock.now()
    for (let p = 0; p < 10; p++) {
      const l = this.#levels[p]
      // Only here, between units, is no read of this level in progress whose result could move the cursor.
      if (l.rewind) { this.#o.clock.clearTimeout(l.holdTimer); this.#levels[p] = freshLevel(); p--; continue }
      if (l.holdUntil > now) continue
      for (;;) {
        if (l.buf.length === 0) {
          if (!(await this.#fill(p, l, gen))) break
          if (gen !== this.#gen) return undefined
          continue // the read may have returned nothing (all withdrawn or on their way out) yet not be at the end
        }
        const item = l.buf[0]
        if (item.entry.expiresAt !== 0 && item.entry.expiresAt <= now) {
          l.buf.shift()
          this.#complete([item], 'expired')
          continue
        }
        if (item.entry.batchTopic === undefined) { l.buf.shift(); return this.#take([item]) }
        const batch = await this.#takeBatch(p, l, gen, now)
        if (batch === 'again') continue
        if (batch === undefined) break // held for more messages; look at the next level
        return this.#take(batch)
      }
    }
    return undefined
  }

  /** In flight from this moment on (the same synchronous step that took it out of the buffer): no longer evictable. */
  #take (items: QueuedItem[]): QueuedItem[] {
    for (const i of items) this.#o.outbox.markSending(i.key)
    return items
  }

  /** Reads ahead into a level's buffer; false when the level has nothing more right now. */
  async #fill (p: number, l: Level, gen: number): Promise<boolean> {
    if (l.exhausted) return false
    const landedBefore = this.#landed[p]
    l.reading++
    let r: Awaited<ReturnType<Outbox['read']>>
    try {
      r = await this.#o.outbox.read(p, l.cursor, READ_AHEAD)
    } finally {
      l.reading--
    }
    const withdrawn = l.withdrawn
    if (l.reading === 0) l.withdrawn = new Set()
    if (gen !== this.#gen) return false
    l.cursor = r.lastKey
    const kept = withdrawn.size === 0 ? r.items : r.items.filter((i) => !withdrawn.has(i.key))
    this.#withdrawn += r.items.length - kept.length
    l.buf.push(...kept)
    // The iterator saw a snapshot: the level is caught up only if that snapshot reached the newest entry
    // reported written. (Comparing with the newest write, not "nothing landed during the read", lets a steady
    // stream of live messages get back onto the fast path in `notify`.) A read that started after the newest
    // reported write landed saw it, or saw it deleted (acknowledged, evicted): caught up too — without this, a
    // level emptied by deletes would look forever behind, and the pump would read it again and again.
    const landed = this.#landed[p]
    if (r.exhausted && (landed === undefined || landed === landedBefore || (r.lastKey !== undefined && r.lastKey >= landed))) l.exhausted = true
    return l.buf.length > 0 || !l.exhausted
  }

  /**
   * Consecutive entries of one batch topic; undefined while waiting (up to maxDelayMs) for a fuller batch;
   * 'again' when entries were withdrawn from the buffer while it read more (what it counted is stale).
   */
  async #takeBatch (p: number, l: Level, gen: number, now: number): Promise<QueuedItem[] | 'again' | undefined> {
    const revision = l.revision
    const first = l.buf[0]
    const topic = first.entry.batchTopic as string
    const limits = this.#o.batches.get(topic) ?? { maxMessages: 100, maxDelayMs: 0 }
    const fits = (i: QueuedItem): boolean => i.entry.batchTopic === topic && i.entry.qos === first.entry.qos
    let n = 0
    for (;;) {
      while (n < l.buf.length && n < limits.maxMessages && fits(l.buf[n])) n++
      if (n >= limits.maxMessages || n < l.buf.length) break
      if (!(await this.#fill(p, l, gen)) || gen !== this.#gen || l.revision !== revision) break
      if (l.exhausted && n === l.buf.length) break
    }
    if (gen !== this.#gen) return undefined
    if (l.revision !== revision) return 'again'
    const due = first.entry.ts + limits.maxDelayMs
    if (n < limits.maxMessages && n === l.buf.length && due > now) {
      l.holdUntil = due
      this.#o.clock.clearTimeout(l.holdTimer)
      l.holdTimer = this.#o.clock.setTimeout(() => { l.holdUntil = 0; this.pump() }, due - now)
      return undefined
    }
    return l.buf.splice(0, n)
  }

  #send (items: QueuedItem[]): void {
    const client = this.#client as PublishChannel
    const gen = this.#gen
    const first = items[0].entry
    const v5 = this.#o.protocolVersion === 5
    let topic: string; let payload: Buffer
    const opts: IClientPublishOptions = { qos: first.qos, retain: first.retain }
    if (items.length === 1 && first.batchTopic === undefined) {
      topic = first.topic
      payload = wrapEnvelope(this.#o.envelope, { id: first.id, ts: first.ts, topic: first.localTopic, payload: first.payload })
      if (v5) opts.properties = { userProperties: { 'mecha-id': first.id } }
    } else {
      topic = first.batchTopic as string
      const messages = items.map((i) => ({ id: i.entry.id, topic: i.entry.topic, payload: i.entry.payload, ts: i.entry.ts }))
      payload = encodeBatch(this.#o.nodeId, messages)
      opts.retain = false
      if (v5) opts.properties = { contentType: BATCH_CONTENT_TYPE, userProperties: { 'mecha-id': `${first.id}+${items.length}` } }
      this.#batchesSent++
      this.#bytesSaved += Math.max(0, unbatchedWireBytes(messages) - (topic.length + payload.length + 24))
    }
    this.#inflight++
    client.publish(topic, payload, opts, (err) => {
      if (gen !== this.#gen) return // that connection is gone; the entries are sent again on the next one
      this.#inflight--
      const code = (err as { code?: unknown } | undefined)?.code
      if (err == null) {
        this.#delivered += items.length
        this.#ackedLater(items)
        this.pump()
        return
      }
      for (const i of items) this.#o.outbox.unmarkSending(i.key)
      if (typeof code === 'number' && code >= 0x80) {
        this.#complete(items, 'refused')
        this.#o.onRefused(items, code, err.message)
      } else {
        this.#o.onBroken(`publish failed: ${err.message}`)
        return
      }
      this.pump()
    })
  }

  /**
   * Collects acknowledged entries and hands them to the outbox once per turn: the PUBACKs of one socket read
   * become one delete batch (and one ledger update) instead of a write request each. Until then they are still
   * on disk, which is what a crash would find anyway: acknowledged but not yet deleted means sent again, never lost.
   */
  #ackedLater (items: QueuedItem[]): void {
    for (const i of items) this.#acked.push(i)
    if (this.#ackFlush) return
    this.#ackFlush = true
    queueMicrotask(() => { this.#flushAcked() })
  }

  /** Synchronous: the outbox marks them leaving (not evictable, skipped by reads) before they stop being in flight. */
  #flushAcked (): void {
    this.#ackFlush = false
    const items = this.#acked
    if (items.length === 0) return
    this.#acked = []
    this.#complete(items, 'delivered')
    for (const i of items) this.#o.outbox.unmarkSending(i.key)
  }

  #complete (items: QueuedItem[], outcome: 'delivered' | 'expired' | 'refused'): void {
    this.#o.outbox.complete(items, outcome).then(() => { this.#o.onProgress() }, (err) => {
      this.#o.log.error({ err: err as Error }, 'outbox delete failed; the message will be sent again')
    })
  }

  close (): void { this.detach() }
}
