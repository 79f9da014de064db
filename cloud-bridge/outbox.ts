/**
 * The durable outbox: every forwarded message is written here before the local publisher is acknowledged,
 * and deleted only when the cloud acknowledged it (or a counted policy dropped it).
 *
 * All writes go through one serial writer that packs whatever is waiting into one atomic batch together with
 * the ledger, so (a) keys become visible in sequence order (the sender's cursor never skips one) and (b) the
 * persisted ledger always describes exactly the entries on disk.
 */
import { randomBytes } from 'node:crypto'
import type { BatchOp, Namespace } from '../core/store/index.ts'
import type { Clock } from '../core/clock.ts'
import type { Logger } from '../core/logger.ts'
import { MechaError } from '../core/errors.ts'
import { decodeEntry, encodeEntry, entryKey, keyPriority, levelPrefix, type OutboxEntry } from './outbox-entry.ts'
import { addCounters, cloneCounters, emptyCounters, toLedger, type DropReason, type Ledger, type LedgerCounters, type LedgerDelta } from './ledger.ts'
import { OutboxUsage } from './outbox-usage.ts'
import { scanQueue, sizeOf, trustedUsage, type Meta } from './outbox-meta.ts'
import { DeleteFence } from './outbox-fence.ts'

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

interface WriteReq { ops: BatchOp[]; delta: LedgerDelta; levels: Array<[number, number, number]>; resolve: () => void; reject: (e: unknown) => void }

const META_KEY = 'meta'
const QUARANTINE_PREFIX = 'x/'
const MAX_OPS_PER_WRITE = 4096

export class Outbox {
  readonly #ns: Namespace<any>
  readonly #opts: OutboxOptions
  readonly #usage: OutboxUsage
  /** What is on disk (updated when a write lands): the ledger reports these. */
  readonly #committed = new OutboxUsage()
  #counters: LedgerCounters
  #epoch: string
  #seq: number
  #queue: WriteReq[] = []
  #writing = false
  #idle: Promise<void> = Promise.resolve()
  #idleResolve: (() => void) | undefined
  /** Keys whose delete is decided but not yet on disk: readers skip them. */
  readonly #leaving = new Set<string>()
  /** Keeps a deleted key in #leaving while a read that may still see it (an older snapshot) runs. */
  readonly #fence = new DeleteFence(this.#leaving)
  /** Keys the sender has in flight: eviction leaves them alone. */
  readonly #sending = new Set<string>()
  /** Enqueue decisions run one after another, so sequence numbers reach the writer in order. */
  #enqueueTail: Promise<void> = Promise.resolve()
  #onAppend: (item: QueuedItem) => void = () => {}
  #closed = false
  /** Persisted usage is known to be wrong (sticky until a restart recounts). */
  #dirty = false

  private constructor (opts: OutboxOptions, meta: Meta, usage: OutboxUsage) {
    this.#ns = opts.ns
    this.#opts = opts
    this.#usage = usage
    this.#committed.copyFrom(usage)
    this.#counters = { accepted: meta.accepted, delivered: meta.delivered, dropped: { ...emptyCounters().dropped, ...meta.dropped }, rejectedNew: meta.rejectedNew }
    this.#epoch = meta.epoch
    this.#seq = meta.seq
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
    if (recount) await box.#write([], {}, [])
    return box
  }

  /**
   * Called once per appended entry, after its write landed, in key order within each level. The item is the
   * one just written (the same bytes as on disk), so a reader that is caught up can take it without reading
   * it back.
   */
  onAppend (fn: (item: QueuedItem) => void): void { this.#onAppend = fn }

  nonEmptyLevels (): number[] { return this.#usage.nonEmpty() }

  get count (): number { return this.#usage.count }
  get bytes (): number { return this.#usage.bytes }

  ledger (): Ledger {
    return toLedger(this.#counters, this.#committed.count, this.#committed.bytes)
  }

  /**
   * Writes one message durably. Resolves once it is on disk (the caller may then acknowledge the publisher);
   * rejects with MECHA_ERR_OUTBOX_FULL when the policy refuses it.
   */
  enqueue (input: EnqueueInput): Promise<OutboxEntry> {
    const prev = this.#enqueueTail
    let release!: () => void
    this.#enqueueTail = new Promise<void>((resolve) => { release = resolve })
    return prev.then(async () => {
      let written: Promise<void>
      let entry: OutboxEntry
      try {
        if (this.#closed) throw new MechaError('MECHA_ERR_STORE_CLOSED', 'the cloud outbox is closed')
        const seq = this.#seq + 1
        const now = this.#opts.clock.now()
        entry = {
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
        const key = entryKey(entry.priority, seq)
        const value = encodeEntry(entry)
        const size = sizeOf(key, value)
        const victims = await this.#makeRoom(entry.priority, size)
        if (victims === undefined) {
          void this.#write([], { rejectedNew: 1 }, []).catch(() => {})
          throw new MechaError('MECHA_ERR_OUTBOX_FULL', `the cloud outbox is full (${this.#usage.count} messages, ${this.#usage.bytes} bytes)`)
        }
        this.#seq = seq
        const ops: BatchOp[] = victims.map((v) => ({ type: 'del', key: v.key }))
        ops.push({ type: 'put', key, value })
        const levels: Array<[number, number, number]> = victims.map((v) => [keyPriority(v.key), -1, -v.size])
        levels.push([entry.priority, 1, size])
        this.#usage.add(entry.priority, 1, size)
        written = this.#write(ops, { accepted: 1, dropped: { full: victims.length } }, levels).then(() => {
          this.#fence.deleted(victims.map((v) => v.key))
          this.#onAppend({ key, size, entry })
        }, (err) => {
          for (const v of victims) { this.#leaving.delete(v.key); this.#usage.add(keyPriority(v.key), 1, v.size) }
          this.#usage.add(entry.priority, -1, -size)
          throw err
        })
      } finally {
        release()
      }
      await written
      return entry
    })
  }

  /** Picks the oldest entries of the lowest priorities to evict; undefined when the policy refuses the message. */
  async #makeRoom (priority: number, size: number): Promise<Array<{ key: string; size: number }> | undefined> {
    const { maxBytes, maxMessages, whenFull } = this.#opts
    if (size > maxBytes) return undefined
    if (this.#usage.count + 1 > maxMessages || this.#usage.bytes + size > maxBytes) this.#opts.onFull?.()
    const victims: Array<{ key: string; size: number }> = []
    // reject-new evicts only strictly less important messages; drop-oldest also the oldest of its own level.
    const lowest = whenFull === 'reject-new' ? priority + 1 : priority
    for (let p = 9; p >= lowest && (this.#usage.count + 1 > maxMessages || this.#usage.bytes + size > maxBytes); p--) {
      if (this.#usage.levelCount(p) === 0) continue
      const end = this.#fence.beginRead()
      try {
        for await (const [key, raw] of this.#ns.entries({ prefix: levelPrefix(p) })) {
          if (this.#usage.count + 1 <= maxMessages && this.#usage.bytes + size <= maxBytes) break
          if (this.#leaving.has(key) || this.#sending.has(key)) continue
          const s = sizeOf(key, raw)
          this.#leaving.add(key)
          this.#usage.add(p, -1, -s)
          victims.push({ key, size: s })
        }
      } finally { end() }
    }
    if (this.#usage.count + 1 > maxMessages || this.#usage.bytes + size > maxBytes) {
      for (const v of victims) { this.#leaving.delete(v.key); this.#usage.add(keyPriority(v.key), 1, v.size) }
      return undefined
    }
    return victims
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
      for await (const [key, raw] of this.#ns.entries(range)) {
        seen++
        lastKey = key
        if (this.#leaving.has(key)) continue
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
    this.#write(ops, { dropped: { corrupt: 1 } }, [[keyPriority(key), -1, -size]]).then(
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
    return this.#write(fresh.map((i) => ({ type: 'del', key: i.key })), delta, fresh.map((i) => [i.entry.priority, -1, -i.size])).then(
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
    return this.#write([], delta, [])
  }

  markSending (key: string): void { this.#sending.add(key) }
  unmarkSending (key: string): void { this.#sending.delete(key) }
  clearSending (): void { this.#sending.clear() }

  /** Drops every queued entry past its TTL; returns how many. */
  async sweepExpired (): Promise<number> {
    const now = this.#opts.clock.now()
    const expired: QueuedItem[] = []
    for (const p of this.nonEmptyLevels()) {
      const { items } = await this.read(p, undefined, Number.MAX_SAFE_INTEGER)
      for (const i of items) if (i.entry.expiresAt !== 0 && i.entry.expiresAt <= now && !this.#sending.has(i.key)) expired.push(i)
    }
    if (expired.length > 0) await this.complete(expired, 'expired')
    return expired.length
  }

  /** Resolves when every queued write has landed. */
  flushed (): Promise<void> { return this.#idle }

  async close (): Promise<void> {
    this.#closed = true
    await this.#enqueueTail
    await this.#idle
  }

  #write (ops: BatchOp[], delta: LedgerDelta, levels: Array<[number, number, number]>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, delta, levels, resolve, reject })
      if (!this.#writing) void this.#drainWrites()
    })
  }

  async #drainWrites (): Promise<void> {
    this.#writing = true
    this.#idle = new Promise((resolve) => { this.#idleResolve = resolve })
    try {
      while (this.#queue.length > 0) {
        let n = 0; let ops = 0
        while (n < this.#queue.length && (n === 0 || ops + this.#queue[n].ops.length <= MAX_OPS_PER_WRITE)) ops += this.#queue[n++].ops.length
        const reqs = this.#queue.splice(0, n)
        const next = cloneCounters(this.#counters)
        for (const r of reqs) addCounters(next, r.delta)
        const levels = this.#committed.toLevels()
        for (const r of reqs) for (const [p, c, b] of r.levels) { levels[p][0] += c; levels[p][1] += b }
        // A negative level means the bookkeeping went wrong somewhere: say so, and let the next start recount.
        const dirty = this.#dirty || levels.some(([c, b]) => c < 0 || b < 0)
        if (dirty && !this.#dirty) this.#opts.log.error({ levels }, 'cloud outbox usage went negative; it is recounted at the next start')
        const meta: Meta = { v: 1, epoch: this.#epoch, seq: this.#seq, ...next, levels, ...(dirty ? { dirty: true as const } : {}) }
        try {
          await this.#ns.batch([...reqs.flatMap((r) => r.ops), { type: 'put', key: META_KEY, value: meta }])
        } catch (err) {
          for (const r of reqs) r.reject(err)
          continue
        }
        this.#counters = next
        this.#dirty = dirty
        this.#fence.landed()
        for (const r of reqs) for (const [p, c, b] of r.levels) this.#committed.add(p, c, b)
        for (const r of reqs) r.resolve()
      }
    } finally {
      this.#writing = false
      this.#idleResolve?.()
    }
  }
}
