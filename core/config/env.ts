import { configSchema } from './schema.ts'

/**
 * Environment overrides: every scalar key in the schema can be set as `MECHA_<PATH>`, with camelCase turned
 * into SNAKE_CASE (`mqtt.maxPayloadBytes` → `MECHA_MQTT_MAX_PAYLOAD_BYTES`). Arrays (users, rules, components)
 * stay in the file. `DAPR_API_TOKEN` also sets `api.token`, as Dapr does.
 */
interface Leaf { path: string[]; type: string }

function leaves (schema: Record<string, any>, path: string[] = []): Leaf[] {
  if (schema.type === 'object' && schema.properties !== undefined) {
    return Object.entries(schema.properties as Record<string, any>).flatMap(([k, s]) => leaves(s, [...path, k]))
  }
  if (['string', 'integer', 'number', 'boolean'].includes(schema.type)) return [{ path, type: schema.type }]
  return []
}

const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
const LEAVES = leaves(configSchema).map((l) => ({ ...l, env: 'MECHA_' + l.path.map(snake).join('_') }))

/** The environment variable names the runtime reads, for docs and `mecha check`. */
export const ENV_NAMES: readonly string[] = LEAVES.map((l) => l.env)

function convert (raw: string, type: string): unknown {
  if (type === 'integer' || type === 'number') return raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw
  if (type === 'boolean') return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw
  return raw
}

/** Applies overrides to `data` (a private copy). Returns the names it applied, for the start-up log. */
export function applyEnv (data: Record<string, any>, env: NodeJS.ProcessEnv): string[] {
  const applied: string[] = []
  const set = (path: string[], value: unknown): void => {
    let node = data
    for (const k of path.slice(0, -1)) {
      if (node[k] === undefined || node[k] === null || typeof node[k] !== 'object') node[k] = {}
      node = node[k]
    }
    node[path[path.length - 1]] = value
  }
  if (env.DAPR_API_TOKEN !== undefined && env.DAPR_API_TOKEN !== '' && env.MECHA_API_TOKEN === undefined) {
    set(['api', 'token'], env.DAPR_API_TOKEN); applied.push('DAPR_API_TOKEN')
  }
  for (const leaf of LEAVES) {
    const raw = env[leaf.env]
    if (raw === undefined || raw === '') continue
    // A cloud override only makes sense when a cloud section exists or the URL itself is being set.
    if (leaf.path[0] === 'cloud' && data.cloud === undefined && leaf.path[1] !== 'url') continue
    set(leaf.path, convert(raw, leaf.type)); applied.push(leaf.env)
  }
  return applied
}
