/**
 * The seam between the cloud bridge's shadow sync and the state layer: edge implements it over a state store,
 * the bridge uses it. In core so that neither imports the other.
 */
export interface DesiredDocument { version: number; state: Record<string, unknown> }

export interface StateAccess {
  /** Calls `fn` after each committed change of a key starting with `prefix`; `value` is undefined for a delete. */
  watch(prefix: string, fn: (key: string, value: unknown) => void): () => void
  get(key: string): Promise<unknown>
  /**
   * Applies a desired document atomically when its version is newer than the last one applied, and records
   * that version in the same write; returns false (changing nothing) for an older or equal version.
   * A `null` value deletes the key.
   */
  applyDesired(doc: DesiredDocument): Promise<boolean>
}
