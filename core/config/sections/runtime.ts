import { bool, int, obj, oneOf, str } from '../schema-parts.ts'
import type { ConfigSection } from './section.ts'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** The node itself: its id, where it keeps its data, its log, its store, its state limits. */
export const runtimeSections: ConfigSection[] = [
  { key: 'id', schema: str({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', 'x-message': 'must be 1-63 letters, digits, ".", "_" or "-"' }) },
  { key: 'dataDir', schema: str({ minLength: 1, default: './data' }) },
  { key: 'componentsDir', schema: str({ minLength: 1 }) },
  { key: 'log', schema: obj({ level: oneOf(LOG_LEVELS, 'info'), pretty: { type: 'boolean' } }, { default: {} }) },
  { key: 'store', schema: obj({ durability: oneOf(['process', 'power'], 'process') }, { default: {} }) },
  // A hard ceiling on the JavaScript heap for small gateways (V8's --max-old-space-size); absent = V8's own
  // limit. Bound at process start: `mecha run` re-executes itself once with the limit (edge/cli/heap-limit.ts).
  // compactWhenIdle: give the heap's free memory back when the runtime idles (edge/memory/idle-compaction.ts).
  { key: 'memory', schema: obj({ maxHeapMiB: int(32, 65536), compactWhenIdle: bool(true) }, { default: {} }) },
]

export const stateSection: ConfigSection = {
  key: 'state',
  schema: obj({
    /** The largest value one state save may carry. */
    maxValueBytes: int(1, 268435456, 1024 * 1024),
  }, { default: {} }),
}
