/**
 * The durable outbox: every forwarded message is written here before the local publisher is acknowledged,
 * and deleted only when the cloud acknowledged it (or a counted policy dropped it).
 *
 * All writes go through one serial writer (`outbox-writer.ts`) that packs whatever is waiting into one atomic
 * batch together with the ledger, so (a) keys become visible in sequence order (the sender's cursor never skips
 * one) and (b) the persisted ledger always describes exactly the entries on disk. Eviction (`outbox-evict.ts`)
 * never takes an entry the sender has published, and withdraws the ones it merely buffered: each message is
 * counted once, delivered or dropped.
 */
import { randomBytes } from 'node:crypto'
import type { BatchOp, Namespace } from '../core/store/index.ts'
import type { Clock } from '../core/clock.ts'
import type { Logger } from '../core/logger.ts'
import { MechaError } from '../core/errors.ts'
import { decodeEntry, encodeEntry, entryKey, keyPriority, levelPrefix, type OutboxEntry } from './outbox-entry.ts'
import { emptyCounters, toLedger, type DropReason, type Ledger, type LedgerDelta } from './ledger.ts'
import type { OutboxUsage } from './outbox-usage.ts'
import { scanQueue, sizeOf, trustedUsage, type Meta } from './outbox-meta.ts'
import { META_KEY, OutboxWriter, type LevelDeltas } from './outbox-writer.ts'
import { DeleteFence } from './outbox-fence.ts'
import { makeRoom, type EvictionHost, type Victim } from './outbox-evict.ts'

export interface OutboxOptions {
  ns: Namespace<any>
  maxBytes: number
  maxMessages: number
  whenFull: 'drop-oldest' | 'reject-new'
  clock: Clock
  log: Logger
  /** The outbox had to apply its full policy (evicted, or refused the new message). */
  onFull?: () => void
}

export interface EnqueueInput {
  topic: string
  localTopic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  priority: number
  ttlMs?: number
  batchTopic?: string
}

/** An entry read for sending: its key and stored size travel with it so completing it needs no second read. */
export interface QueuedItem { key: string; size: number; entry: OutboxEntry }

const QUARANTINE_PREFIX = 'x/'

export class Outbox {
  readonly #ns: Namespace<any>
  readonly #opts: OutboxOptions
  readonly #usage: OutboxUsage
  readonly #writer: OutboxWriter
  #epoch: string
  #seq: number
  /** Keys whose delete is decided but not yet on disk: readers skip them. */
  readonly #leaving = new Set<string>()
  /** Keeps a deleted key in #leaving while a read that may still see it (an older snapshot) runs. */
  readonly #fence = new DeleteFence(this.#leaving)
  /** Keys the sender has taken to publish (in flight): eviction and TTL sweeps leave them alone. */
  readonly #sending = new Set<string>()
  /** Keys written whose write has not yet been handed to `onAppend`; one evicted meanwhile is not handed over. */
  readonly #handing = new Set<string>()
  /** Keys accepted whose write has not landed (eviction waits for them rather than evict a more important one). */
  readonly #unlanded = new Set<string>()
  readonly #evictionHost: EvictionHost
  /** Enqueue decisions run one after another, so sequence numbers reach the writer in order. */
  #enqueueTail: Promise<void> = Promise.resolve()
  /** Enqueues on the chained (evicting) path not yet decided: while any is, new ones queue behind them. */
  #deciding = 0
  #onAppend: (item: QueuedItem) => void = () => {}
  #onWithdraw: (keys: readonly string[]) => void = () => {}
  #onRestore: (priorities: readonly number[]) => void = () => {}
  #closed = false

  private constructor (opts: OutboxOptions, meta: Meta, usage: OutboxUsage) {
    this.#ns = opts.ns
    this.#opts = opts
    this.#usage = usage
    this.#epoch = meta.epoch
    this.#seq = meta.seq
    this.#writer = new OutboxWriter({
      ns: opts.ns, log: opts.log, usage,
      counters: { accepted: meta.accepted, delivered: meta.delivered, dropped: { ...emptyCounters().dropped, ...meta.dropped }, rejectedNew: meta.rejectedNew },
      position: () => ({ epoch: this.#epoch, seq: this.#seq }),
      landed: () => { this.#fence.landed() },
    })
    this.#evictionHost = {
      ns: this.#ns, usage: this.#usage, fence: this.#fence, leaving: this.#leaving, sending: this.#sending,
      unlanded: this.#unlanded, settle: () => this.#writer.idle(),
      withdraw: (keys) => { this.#withdraw(keys) },
    }
  }

  static async create (opts: OutboxOptions): Promise<Outbox> {
    const stored = await opts.ns.get(META_KEY) as Meta | undefined
    const meta: Meta = stored ?? { v: 1, epoch: randomBytes(4).toString('hex'), seq: 0, ...emptyCounters() }
    // Start-up must not cost time proportional to the backlog (a million entries on an SD card): the usage per
    // level comes from the meta record, which every write keeps exact. The full scan is only the recovery path.
    let usage = await trustedUsage(opts.ns, stored)
    const recount = usage === undefined
    if (usage === undefined) {
      if (stored !== undefined) opts.log.warn({ dirty: stored.dirty === true }, 'cloud outbox: recounting the queue')
      const scan = await scanQueue(opts.ns)
      usage = scan.usage
      // Without a meta record the sequence must still continue after what is on disk, or new keys would overwrite entries.
      meta.seq = Math.max(meta.seq, scan.maxSeq)
    }
    const box = new Outbox(opts, meta, usage)
    if (recount) await box.#writer.write([], {}, [])
    return box
  }

  /**
   * Called once per appended entry, after its write landed, in key order within each level. The item is the
   * one just written (the same bytes as on disk), so a reader that is caught up can take it without reading
   * it back.
   */
  onAppend (fn: (item: QueuedItem) => void): void { this.#onAppend = fn }

  /**
   * Called synchronously when the outbox itself removes entries that were not taken to publish (evicted by the
   * full policy, expired by the TTL sweep): a reader holding any of them in a read-ahead buffer, or about to
   * get them from a read in progress, must drop them, so that they are never published.
   */
  onWithdraw (fn: (keys: readonly string[]) => void): void { this.#onWithdraw = fn }

  /**
   * Called when withdrawn entries stay after all (the eviction's write failed): a reader that dropped them
   * must read these levels again from the start (entries in flight are skipped by `read`).
   */
  onRestore (fn: (priorities: readonly number[]) => void): void { this.#onRestore = fn }

  #withdraw (keys: readonly string[]): void {
    for (const k of keys) this.#handing.delete(k)
    if (keys.length > 0) this.#onWithdraw(keys)
  }

  nonEmptyLevels (): number[] { return this.#usage.nonEmpty() }

  get count (): number { return this.#usage.count }
  get bytes (): number { return this.#usage.bytes }

  ledger (): Ledger {
    const { committed } = this.#writer
    return toLedger(this.#writer.counters, committed.count, committed.bytes)
  }

  /**
   * Writes one message durably. Resolves once it is on disk (the caller may then acknowledge the publisher);
   * rejects with MECHA_ERR_OUTBOX_FULL when the policy refuses it.
   */
  enqueue (input: EnqueueInput): Promise<OutboxEntry> {
    // Fast path, the common case: no decision is waiting (so taking the next sequence number now keeps arrival
    // order) and the entry fits without evicting anything. All synchronous: no promise chain, no eviction
    // scan; concurrent publishes of one event-loop turn all reach the writer's next batch.
    if (this.#deciding === 0 && !this.#closed) {
      const entry = this.#makeEntry(input)
      const key = entryKey(entry.priority, entry.seq)
      const value = encodeEntry(entry)
      const size = sizeOf(key, value)
      if (this.#usage.count + 1 <= this.#opts.maxMessages && this.#usage.bytes + size <= this.#opts.maxBytes) {
        return this.#commit(entry, key, value, size, [])
      }
    }
    // Slow path: eviction reads the disk, so decisions are chained; later enqueues wait for them (above) so that
    // sequence numbers still reach the writer in order.
    this.#deciding++
    const prev = this.#enqueueTail
    let release!: () => void
    this.#enqueueTail = new Promise<void>((resolve) => { release = resolve })
    return prev.then(async () => {
      let written: Promise<OutboxEntry>
      try {
        if (this.#closed) throw new MechaError('MECHA_ERR_STORE_CLOSED', 'the cloud outbox is closed')
        const entry = this.#makeEntry(input)
        const key = entryKey(entry.priority, entry.seq)
        const value = encodeEntry(entry)
        const size = sizeOf(key, value)
        if (this.#usage.count + 1 > this.#opts.maxMessages || this.#usage.bytes + size > this.#opts.maxBytes) this.#opts.onFull?.()
        const victims = await makeRoom(this.#evictionHost, this.#opts, entry.priority, size)
        if (victims === undefined) {
          void this.#writer.write([], { rejectedNew: 1 }, []).catch(() => {})
          throw new MechaError('MECHA_ERR_OUTBOX_FULL', `the cloud outbox is full (${this.#usage.count} messages, ${this.#usage.bytes} bytes)`)
        }
        written = this.#commit(entry, key, value, size, victims)
      } finally {
        this.#deciding--
        release()
      }
      return await written
    })
  }

  /** The entry for the next sequence number (not taken yet: `#commit` takes it). */
  #makeEntry (input: EnqueueInput): OutboxEntry {
    const seq = this.#seq + 1
    const now = this.#opts.clock.now()
    return {
      id: `${this.#epoch}-${seq}`,
      seq,
      priority: input.priority,
      topic: input.topic,
      localTopic: input.localTopic,
      payload: input.payload,
      qos: input.qos,
      retain: input.retain,
      ts: now,
      expiresAt: input.ttlMs === undefined ? 0 : now + input.ttlMs,
      ...(input.batchTopic === undefined ? {} : { batchTopic: input.batchTopic }),
    }
  }

  /** Takes the entry's sequence number and hands its write (with the victims' deletes) to the writer. */
  #commit (entry: OutboxEntry, key: string, value: Buffer, size: number, victims: readonly Victim[]): Promise<OutboxEntry> {
    this.#seq = entry.seq
    const ops: BatchOp[] = victims.map((v) => ({ type: 'del', key: v.key }))
    ops.push({ type: 'put', key, value })
    const levels: LevelDeltas = victims.map((v) => [keyPriority(v.key), -1, -v.size])
    levels.push([entry.priority, 1, size])
    this.#usage.add(entry.priority, 1, size)
    this.#handing.add(key)
    this.#unlanded.add(key)
    return new Promise<OutboxEntry>((resolve, reject) => {
      this.#writer.submit(ops, { accepted: 1, dropped: { full: victims.length } }, levels, (err) => {
        this.#unlanded.delete(key)
        if (err === undefined) {
          if (victims.length > 0) this.#fence.deleted(victims.map((v) => v.key))
          // Evicted before its own write came back: it is gone, the sender must not get it.
          if (this.#handing.delete(key)) this.#onAppend({ key, size, entry })
          resolve(entry)
          return
        }
        this.#handing.delete(key)
        for (const v of victims) { this.#leaving.delete(v.key); this.#usage.add(keyPriority(v.key), 1, v.size) }
        this.#usage.add(entry.priority, -1, -size)
        if (victims.length > 0) this.#onRestore([...new Set(victims.map((v) => keyPriority(v.key)))])
        reject(err)
      })
    })
  }

  /**
   * Up to `limit` entries of one level after `afterKey`, in order, skipping entries on their way out.
   * Corrupt entries are quarantined (moved under `x/`, counted) and skipped, never blocking the queue.
   */
  async read (priority: number, afterKey: string | undefined, limit: number): Promise<{ items: QueuedItem[]; lastKey: string | undefined; exhausted: boolean }> {
    const items: QueuedItem[] = []
    let lastKey = afterKey
    let seen = 0
    const range = afterKey === undefined ? { prefix: levelPrefix(priority), limit } : { gt: afterKey, lt: levelPrefix(priority) + '\u{10FFFF}', limit }
    const end = this.#fence.beginRead()
    try {
      // One read for the whole step (at most `limit` entries), not a promise per entry.
      for (const [key, raw] of await this.#ns.entryList(range)) {
        seen++
        lastKey = key
        // In flight: only a rewound reader (onRestore) meets these, and must not publish them twice.
        if (this.#leaving.has(key) || this.#sending.has(key)) continue
        try {
          items.push({ key, size: sizeOf(key, raw), entry: decodeEntry(raw) })
        } catch (err) {
          this.#quarantine(key, raw, err)
        }
      }
    } finally { end() }
    return { items, lastKey, exhausted: seen < limit }
  }

  #quarantine (key: string, raw: unknown, err: unknown): void {
    const size = sizeOf(key, raw)
    this.#leaving.add(key)
    this.#usage.add(keyPriority(key), -1, -size)
    this.#opts.log.error({ key, err: err as Error, code: 'MECHA_ERR_OUTBOX_CORRUPT' }, 'corrupt outbox entry quarantined')
    const ops: BatchOp[] = [{ type: 'del', key }, { type: 'put', key: QUARANTINE_PREFIX + key, value: raw ?? Buffer.alloc(0) }]
    this.#writer.write(ops, { dropped: { corrupt: 1 } }, [[keyPriority(key), -1, -size]]).then(
      () => { this.#fence.deleted([key]) },
      (e) => { this.#leaving.delete(key); this.#opts.log.error({ err: e as Error }, 'quarantine write failed') },
    )
  }

  /** Removes completed entries: delivered to the cloud, or dropped for `reason`. */
  complete (items: readonly QueuedItem[], outcome: 'delivered' | DropReason): Promise<void> {
    const fresh = items.filter((i) => !this.#leaving.has(i.key))
    if (fresh.length === 0) return Promise.resolve()
    for (const i of fresh) { this.#leaving.add(i.key); this.#usage.add(i.entry.priority, -1, -i.size) }
    const delta: LedgerDelta = outcome === 'delivered' ? { delivered: fresh.length } : { dropped: { [outcome]: fresh.length } }
    const ops: BatchOp[] = fresh.map((i) => ({ type: 'del', key: i.key }))
    return this.#writer.write(ops, delta, fresh.map((i) => [i.entry.priority, -1, -i.size]), outcome === 'delivered').then(
      () => { this.#fence.deleted(fresh.map((i) => i.key)) },
      (err) => {
        // Still on disk: undo the bookkeeping so it is sent (and counted) again later.
        for (const i of fresh) { this.#leaving.delete(i.key); this.#usage.add(i.entry.priority, 1, i.size) }
        throw err
      },
    )
  }

  /** Counts a message accepted and at once dropped (QoS 0 while offline with `queueQos0: false`) or sent unqueued. */
  account (outcome: 'delivered' | DropReason): Promise<void> {
    const delta: LedgerDelta = outcome === 'delivered' ? { accepted: 1, delivered: 1 } : { accepted: 1, dropped: { [outcome]: 1 } }
    return this.#writer.write([], delta, [])
  }

  markSending (key: string): void { this.#sending.add(key) }
  unmarkSending (key: string): void { this.#sending.delete(key) }
  clearSending (): void { this.#sending.clear() }

  /** When the oldest message still queued was accepted (ms since the epoch); undefined when none is. */
  async oldestQueuedAt (): Promise<number | undefined> {
    let oldest: number | undefined
    // Each priority level is in enqueue order: its first entry is its oldest.
    for (const p of this.nonEmptyLevels()) {
      const { items } = await this.read(p, undefined, 1)
      const ts = items[0]?.entry.ts
      if (ts !== undefined && (oldest === undefined || ts < oldest)) oldest = ts
    }
    return oldest
  }

  /** Drops every queued entry past its TTL; returns how many. */
  async sweepExpired (): Promise<number> {
    const now = this.#opts.clock.now()
    return await this.#dropWhere((i) => i.entry.expiresAt !== 0 && i.entry.expiresAt <= now, 'expired')
  }

  /** Drops every queued entry not already on its way to the cloud (an operator's decision); returns how many. */
  async dropQueued (): Promise<number> {
    return await this.#dropWhere(() => true, 'admin')
  }

  async #dropWhere (pick: (i: QueuedItem) => boolean, reason: DropReason): Promise<number> {
    const chosen: QueuedItem[] = []
    for (const p of this.nonEmptyLevels()) {
      const { items } = await this.read(p, undefined, Number.MAX_SAFE_INTEGER)
      for (const i of items) if (pick(i)) chosen.push(i)
    }
    // Decided in one synchronous step after the reads, like an eviction: the sender may have taken some meanwhile,
    // and an entry in flight is either delivered or dropped, never both.
    const fresh = chosen.filter((i) => !this.#sending.has(i.key) && !this.#leaving.has(i.key))
    if (fresh.length === 0) return 0
    const done = this.complete(fresh, reason)
    this.#withdraw(fresh.map((i) => i.key))
    await done.catch((err: unknown) => {
      this.#onRestore([...new Set(fresh.map((i) => i.entry.priority))])
      throw err
    })
    return fresh.length
  }

  /** Resolves when every queued write has landed. */
  flushed (): Promise<void> { return this.#writer.idle() }

  async close (): Promise<void> {
    this.#closed = true
    await this.#enqueueTail
    await this.#writer.idle()
  }
}
