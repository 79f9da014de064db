import type { AppConfig } from '../config/types.ts'

/**
 * Each app's depth in the `dependsOn` graph: 0 without dependencies, else one more than its deepest
 * dependency. Apps start lowest level first and stop highest first. Unknown ids and cycles (which the config
 * check rejects) are ignored rather than looped on.
 */
export function dependencyLevels (apps: readonly Pick<AppConfig, 'id' | 'dependsOn'>[]): Map<string, number> {
  const byId = new Map(apps.map((a) => [a.id, a]))
  const levels = new Map<string, number>()
  const visiting = new Set<string>()
  const level = (id: string): number => {
    const known = levels.get(id)
    if (known !== undefined) return known
    const app = byId.get(id)
    if (app === undefined || visiting.has(id)) return -1
    visiting.add(id)
    const l = 1 + Math.max(-1, ...app.dependsOn.map(level))
    visiting.delete(id)
    levels.set(id, l)
    return l
  }
  for (const a of apps) level(a.id)
  return levels
}
