/**
 * `memory.compactWhenIdle`: gives the JavaScript heap's free memory back to the gateway when the runtime is idle.
 *
 * Why: V8 grows the young generation to its cap (16 MiB semi-spaces in the executable) during start-up and
 * under load, and keeps old-space pages it has emptied, but it does not give either back when the load stops —
 * measured on the executable, the young generation stayed at 32 MiB committed with 3 MiB in use for as long as
 * the runtime idled, and the old space at 45 MiB with 21 MiB in use after a burst (docs/performance.md, "Idle
 * compaction"). What frees them is a memory-reducing full GC (V8's "last resort" collection: it shrinks the
 * young generation and compacts the old space), which V8 runs by itself only near its heap limit. So when the
 * event loop has been idle for five one-second samples in a row and the heap has grown since the last
 * compaction, this runs one. A busy runtime is not interrupted (the GC pauses the loop for ~10–40 ms), and
 * compactions are spaced so that a bursty load does not pay one after every burst. The young generation grows
 * again with the next load (V8 sizes it by what survives), so throughput under load is what it was.
 *
 * The collection comes from V8's own `gc` extension, taken in a fresh context (`--expose-gc` set at run time
 * puts `gc` in contexts created afterwards, not in the runtime's own global object, so no app code or
 * dependency sees it). The memory-reducing `flavor: 'last-resort'` is V8 12+ (the executable's Node 24); from
 * source on Node 20 it is an ordinary full GC, which frees less (`collect` below).
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { Counter } from 'prom-client'
import type { Logger } from '../../core/logger.ts'
import type { Metrics } from '../../core/metrics.ts'

export interface IdleCompactionOptions {
  log: Logger
  metrics?: Metrics
  /**
   * How often the event loop's utilization is sampled.
   * @default 1000
   */
  intervalMs?: number
  /**
   * How many samples in a row must be idle before a compaction: short samples, so that a load that has just
   * begun shows in the last one rather than being averaged away over a long window.
   * @default 5
   */
  idleSamples?: number
  /**
   * The event-loop utilization (0–1) under which a sample counts as idle.
   * @default 0.05
   */
  idleBelow?: number
  /**
   * The least time between two compactions.
   * @default 30000
   */
  minSpacingMs?: number
  /**
   * How much the committed heap must have grown since the last compaction (or since the start, for the first).
   * @default 4 MiB
   */
  minGrowthBytes?: number
}

const DEFAULTS = { intervalMs: 1000, idleSamples: 5, idleBelow: 0.05, minSpacingMs: 30_000, minGrowthBytes: 4 * 1048576 }

export interface CompactionRecord { beforeBytes: number; afterBytes: number; pauseMs: number }

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void

let gcFunction: GcFunction | undefined
/** V8's gc, from a context made while `--expose-gc` is set; the flag is turned off again at once. */
function v8Gc (): GcFunction {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc')
    try { gcFunction = runInNewContext('gc') as GcFunction } finally { setFlagsFromString('--no-expose-gc') }
  }
  return gcFunction
}

/**
 * V8 12+ (Node 22+): the memory-reducing collection. V8 11 (Node 20) collects nothing with an options object
 * (measured: 157 MiB committed before and after), so there a plain `gc()`, an ordinary full GC, which frees
 * the old space's garbage but leaves the young generation's size as it is.
 */
const LAST_RESORT = Number(process.versions.v8.split('.')[0]) >= 12
function collect (): void {
  if (LAST_RESORT) v8Gc()({ type: 'major', execution: 'sync', flavor: 'last-resort' })
  else v8Gc()()
}

/** Committed heap: every space's size, whether in use or not (what the process holds for V8). */
const committedBytes = (): number => getHeapStatistics().total_heap_size

export class IdleCompactor {
  readonly #o: typeof DEFAULTS
  readonly #log: Logger
  readonly #timer: NodeJS.Timeout
  #elu: EventLoopUtilization = performance.eventLoopUtilization()
  /** Committed heap right after the last compaction; 0 until the first, so the start's growth counts. */
  #baseline = 0
  #lastAt = -Infinity
  /** Idle samples in a row so far. */
  #idleRun = 0
  #count = 0
  #last: CompactionRecord | undefined
  #closed = false
  #counter: Counter | undefined

  private constructor (opts: IdleCompactionOptions) {
    this.#o = {
      intervalMs: opts.intervalMs ?? DEFAULTS.intervalMs,
      idleSamples: opts.idleSamples ?? DEFAULTS.idleSamples,
      idleBelow: opts.idleBelow ?? DEFAULTS.idleBelow,
      minSpacingMs: opts.minSpacingMs ?? DEFAULTS.minSpacingMs,
      minGrowthBytes: opts.minGrowthBytes ?? DEFAULTS.minGrowthBytes,
    }
    this.#log = opts.log
    // Never keeps the process alive: a runtime that is stopping does not wait for the next check.
    this.#timer = setInterval(() => { this.#check() }, this.#o.intervalMs).unref()
    if (opts.metrics !== undefined) this.#register(opts.metrics)
  }

  static async create (opts: IdleCompactionOptions): Promise<IdleCompactor> {
    v8Gc()
    return new IdleCompactor(opts)
  }

  /** How many compactions ran. */
  get count (): number { return this.#count }
  /** The last compaction's figures. */
  get last (): CompactionRecord | undefined { return this.#last }

  #check (): void {
    if (this.#closed) return
    const since = performance.eventLoopUtilization(this.#elu)
    this.#elu = performance.eventLoopUtilization()
    if (since.utilization >= this.#o.idleBelow) { this.#idleRun = 0; return }
    if (++this.#idleRun < this.#o.idleSamples) return
    if (performance.now() - this.#lastAt < this.#o.minSpacingMs) return
    const before = committedBytes()
    if (before - this.#baseline < this.#o.minGrowthBytes) return
    this.compact(before)
  }

  /** Runs one memory-reducing full GC now (the check above calls it when idle). */
  compact (before = committedBytes()): CompactionRecord {
    const t0 = performance.now()
    collect()
    const end = performance.now()
    const after = committedBytes()
    this.#baseline = after
    this.#lastAt = end
    this.#count++
    this.#counter?.inc()
    this.#last = { beforeBytes: before, afterBytes: after, pauseMs: end - t0 }
    // The pause itself must not count as load in the next sample; the idle run starts again.
    this.#elu = performance.eventLoopUtilization()
    this.#idleRun = 0
    this.#log.debug({ heapBeforeMiB: +(before / 1048576).toFixed(1), heapAfterMiB: +(after / 1048576).toFixed(1), ms: +(end - t0).toFixed(1) }, 'idle: heap compacted')
    return this.#last
  }

  #register (metrics: Metrics): void {
    const self = this
    this.#counter = metrics.counter({ name: 'mecha_memory_idle_compactions_total', help: 'memory-reducing full GCs run because the runtime was idle (memory.compactWhenIdle)' })
    metrics.gauge({ name: 'mecha_memory_idle_compaction_freed_bytes', help: 'committed heap given back by the last idle compaction', collect () { this.set(self.#last === undefined ? 0 : Math.max(0, self.#last.beforeBytes - self.#last.afterBytes)) } })
    metrics.gauge({ name: 'mecha_memory_idle_compaction_pause_seconds', help: 'how long the last idle compaction paused the event loop', collect () { this.set(self.#last === undefined ? 0 : self.#last.pauseMs / 1000) } })
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
  }
}
