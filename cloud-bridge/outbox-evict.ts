/**
 * Choosing what a full outbox evicts (`whenFull`). Candidates are the oldest entries of the least important
 * levels that are not in flight. Finding them reads the disk (async), and meanwhile the sender keeps taking
 * entries to publish; so the choice is only tentative while reading, and is re-checked and committed in one
 * synchronous step: from that moment the victims are on their way out (skipped by readers, never taken by the
 * sender) and the sender is told to drop any it holds in its read-ahead buffer. An entry is therefore either
 * evicted (and never published) or published (and then not evictable until it is acknowledged or its
 * connection is gone) — never both, which is what keeps the ledger counting each message once.
 */
import type { Namespace } from '../core/store/index.ts'
import { keyPriority, levelPrefix } from './outbox-entry.ts'
import type { OutboxUsage } from './outbox-usage.ts'
import type { DeleteFence } from './outbox-fence.ts'
import { sizeOf } from './outbox-meta.ts'

export interface Victim { key: string; size: number }

export interface EvictionHost {
  readonly ns: Namespace<any>
  readonly usage: OutboxUsage
  readonly fence: DeleteFence
  /** Keys on their way out (decided deletes): readers skip them. */
  readonly leaving: Set<string>
  /** Keys the sender has taken to publish (in flight): not evictable. */
  readonly sending: ReadonlySet<string>
  /** Keys of entries accepted but not yet on disk (their write is queued): the scan cannot see them yet. */
  readonly unlanded: ReadonlySet<string>
  /** Resolves when the queued writes have landed. */
  settle: () => Promise<void>
  /** Called synchronously with the committed victims, before anything else can run. */
  withdraw: (keys: readonly string[]) => void
}

export interface EvictionLimits { maxBytes: number; maxMessages: number; whenFull: 'drop-oldest' | 'reject-new' }

/** A race with the sender can void candidates; retrying is bounded so a refusal stays a refusal. */
const MAX_ATTEMPTS = 8
/** Waits for unlanded writes per decision: one is enough (enqueues are serial, so no new ones appear meanwhile). */
const MAX_SETTLES = 2

/**
 * Makes room for one entry of `priority` and `size`: returns the victims (already marked leaving and taken
 * off the usage), or undefined when the policy refuses the new entry (then nothing changed).
 */
export async function makeRoom (host: EvictionHost, limits: EvictionLimits, priority: number, size: number): Promise<Victim[] | undefined> {
  const { maxBytes, maxMessages, whenFull } = limits
  const { usage, leaving, sending } = host
  if (size > maxBytes) return undefined
  const chosen = new Map<string, Victim>()
  let freedCount = 0; let freedBytes = 0
  const over = (): boolean => usage.count - freedCount + 1 > maxMessages || usage.bytes - freedBytes + size > maxBytes
  const busy = (key: string): boolean => leaving.has(key) || sending.has(key)
  // reject-new evicts only strictly less important messages; drop-oldest also the oldest of its own level.
  const lowest = whenFull === 'reject-new' ? priority + 1 : priority
  let settles = 0
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    // Taken before the scan: an entry that lands while its level is scanned is missing from the iterator's
    // snapshot, and by the end no longer unlanded either.
    const unlanded = [...host.unlanded]
    for (let p = 9; p >= lowest && over(); p--) {
      if (usage.levelCount(p) === 0) continue
      const end = host.fence.beginRead()
      try {
        for await (const [key, raw] of host.ns.entries({ prefix: levelPrefix(p) })) {
          if (!over()) break
          if (busy(key) || chosen.has(key)) continue
          const v = { key, size: sizeOf(key, raw) }
          chosen.set(key, v)
          freedCount++; freedBytes += v.size
        }
      } finally { end() }
    }
    // From here to the return nothing awaits: the re-check and the commit are one step.
    let voided = 0
    for (const v of chosen.values()) {
      // Taken by the sender meanwhile (in flight now), or completed by someone else (its usage already gone).
      if (busy(v.key)) { chosen.delete(v.key); freedCount--; freedBytes -= v.size; voided++ }
    }
    // A burst of publishes is accepted faster than its writes land. If a less important level has entries still
    // on their way to disk, evicting from a more important one (or refusing) would break "lowest priority
    // first": let them land and choose again.
    let mostImportant = 10
    for (const v of chosen.values()) mostImportant = Math.min(mostImportant, keyPriority(v.key))
    const waitFor = unlanded.some((k) => {
      const q = keyPriority(k)
      return q >= lowest && !busy(k) && !chosen.has(k) && (over() || q > mostImportant)
    })
    if (waitFor && settles < MAX_SETTLES) {
      settles++
      await host.settle()
      chosen.clear(); freedCount = 0; freedBytes = 0
      continue
    }
    if (!over()) {
      const victims = [...chosen.values()]
      for (const v of victims) { leaving.add(v.key); usage.add(keyPriority(v.key), -1, -v.size) }
      host.withdraw(victims.map((v) => v.key))
      return victims
    }
    if (voided === 0) return undefined // nothing raced: there is simply not enough to evict
  }
  return undefined
}
