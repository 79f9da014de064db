import type { ComponentCatalog } from '../dapr-schema.ts'
import type { ConfigProblem } from '../types.ts'

/** What the checks of every section may use: the component catalog and the names other sections define. */
export interface CheckContext {
  catalog?: ComponentCatalog
  /** The state stores the config defines (`statestore` and every state.level component). */
  stateStores: ReadonlySet<string>
  /** The pub/sub components the config defines (`pubsub` and every pubsub.* component). */
  pubsubs: ReadonlySet<string>
}

/**
 * One section of mecha.yaml (CONVENTIONS 4): its schema (defaults live there, and only there) and the checks
 * across its keys that a schema cannot express, in one place. `problems` gets the whole config, schema-checked
 * with defaults filled; its paths are absolute (`mqtt.users[1].username`). `listeners` names the addresses
 * the section listens on, so clashes between sections are found in one place.
 */
export interface ConfigSection {
  readonly key: string
  readonly schema: Record<string, unknown>
  problems?: (c: Record<string, any>, ctx: CheckContext) => ConfigProblem[]
  listeners?: (c: Record<string, any>) => Array<{ path: string; host: string; port: number }>
}
