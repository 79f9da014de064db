import { isDeepStrictEqual } from 'node:util'
import type { MechaConfig } from '../../core/config/index.ts'

/** The parts a config change can touch without a restart, in the order the root applies them. */
export const HOT_PARTS = ['log', 'mqtt', 'api', 'state', 'cloud', 'bindings', 'subscriptions', 'apps'] as const
export type HotPart = typeof HOT_PARTS[number]

/**
 * Settings bound at start: listeners, the data dir, the store's durability, the node id (cloud topics and
 * client ids are made from it). A change to one is reported as needing a restart and is not applied.
 */
const RESTART_PATHS = [
  'id', 'dataDir', 'store', 'componentsDir', 'memory',
  'mqtt.host', 'mqtt.port', 'mqtt.sessionExpirySeconds',
  'api.host', 'api.port', 'api.grpc', 'api.grpcPort', 'api.grpcMaxMessageBytes', 'api.maxBodyBytes',
  'ui', 'metrics',
] as const

export interface ConfigDiff {
  /** Parts to reconfigure, in apply order. */
  parts: HotPart[]
  /** Paths whose change needs a restart (not applied). */
  restartRequired: string[]
  /** A line per change, for the log and the admin API. */
  changes: string[]
}

function at (c: unknown, path: string): unknown {
  let v: any = c
  for (const k of path.split('.')) v = v?.[k]
  return v
}

const byName = <T extends { metadata: { name: string } }>(docs: readonly T[]): Map<string, T> => new Map(docs.map((d) => [d.metadata.name, d]))
const byId = <T extends { id: string }>(docs: readonly T[]): Map<string, T> => new Map(docs.map((d) => [d.id, d]))

/** What changed between two named lists: `added x`, `removed y`, `changed z`. */
export function listChanges<T> (label: string, prev: Map<string, T>, next: Map<string, T>): string[] {
  const out: string[] = []
  for (const [k, v] of next) {
    if (!prev.has(k)) out.push(`${label} ${k} added`)
    else if (!isDeepStrictEqual(prev.get(k), v)) out.push(`${label} ${k} changed`)
  }
  for (const k of prev.keys()) if (!next.has(k)) out.push(`${label} ${k} removed`)
  return out
}

/** Compares two parsed configs: which parts to reconfigure, which changes need a restart. */
export function diffConfig (prev: MechaConfig, next: MechaConfig): ConfigDiff {
  const restartRequired = RESTART_PATHS.filter((p) => !isDeepStrictEqual(at(prev, p), at(next, p)))
  const parts = new Set<HotPart>()
  const changes: string[] = []
  if (!isDeepStrictEqual(prev.log, next.log)) { parts.add('log'); changes.push(`log level ${prev.log.level} → ${next.log.level}`) }
  const mqttHot = (c: MechaConfig): unknown => ({ ...c.mqtt, host: undefined, port: undefined, sessionExpirySeconds: undefined })
  if (!isDeepStrictEqual(mqttHot(prev), mqttHot(next))) { parts.add('mqtt'); changes.push('mqtt users, ACL or limits changed') }
  if (prev.api.token !== next.api.token) { parts.add('api'); changes.push('api token changed') }
  if (!isDeepStrictEqual(prev.state, next.state)) { parts.add('api'); changes.push('state limits changed') }
  const typed = (c: MechaConfig, prefix: string): Map<string, unknown> => byName(c.components.filter((d) => d.spec.type.startsWith(prefix)))
  const stateChanges = listChanges('state store', typed(prev, 'state.'), typed(next, 'state.'))
  if (stateChanges.length > 0) { parts.add('state'); changes.push(...stateChanges) }
  if (!isDeepStrictEqual(prev.cloud, next.cloud)) {
    parts.add('cloud')
    changes.push(prev.cloud === undefined ? 'cloud link added' : next.cloud === undefined ? 'cloud link removed' : 'cloud link changed')
  }
  const bindingChanges = listChanges('binding', typed(prev, 'bindings.'), typed(next, 'bindings.'))
  if (bindingChanges.length > 0) { parts.add('bindings'); changes.push(...bindingChanges) }
  const pubsubChanges = listChanges('pub/sub', typed(prev, 'pubsub.'), typed(next, 'pubsub.'))
  const subChanges = listChanges('subscription', byName(prev.subscriptions), byName(next.subscriptions))
  const appChanges = listChanges('app', byId(prev.apps), byId(next.apps))
  if (pubsubChanges.length + subChanges.length > 0 || appChanges.length > 0) parts.add('subscriptions')
  changes.push(...pubsubChanges, ...subChanges)
  if (appChanges.length > 0) { parts.add('apps'); changes.push(...appChanges) }
  for (const p of restartRequired) changes.push(`${p} changed: needs a restart`)
  return { parts: HOT_PARTS.filter((p) => parts.has(p)), restartRequired, changes }
}
