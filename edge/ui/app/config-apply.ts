/** Shared by Cloud and Access: change one part of the running config and apply it (validated, atomic, hot reload). */
import { ApiError, get, post, type Problem } from './api.ts'

/** What the API shows instead of a secret (edge/admin-backend.ts); sent back unchanged, the secret stays. */
export const REDACTED = '(set)'

export async function loadConfig (): Promise<{ config: any; file?: string; canRollback: boolean }> {
  return await get('/admin/api/config')
}

/** Applies `change(config)`; the problems of a refusal come back on the ApiError (nothing was changed). */
export async function applyConfig (change: (config: any) => any): Promise<string[]> {
  const { config } = await loadConfig()
  const next = change(structuredClone(config))
  const r = await post('/admin/api/config/apply', next)
  return r.reloaded ?? []
}

/** The messages of problems at `path` exactly or under it, keyed by the path relative to `under`. */
export function problemsUnder (err: unknown, under: string): Record<string, string> {
  const out: Record<string, string> = {}
  const problems: Problem[] = err instanceof ApiError ? err.problems : []
  for (const p of problems) {
    if (p.path !== under && !p.path.startsWith(`${under}.`) && !p.path.startsWith(`${under}[`)) continue
    const rel = p.path === under ? '' : p.path.slice(under.length).replace(/^\./, '')
    out[rel] = out[rel] === undefined ? p.message : `${out[rel]}; ${p.message}`
  }
  return out
}

export const MQTT_FILTER = /^(?:(?:[^+#/]*|\+)(?:\/(?:[^+#/]*|\+))*(?:\/#)?|#)$/

/** An MQTT topic filter [MQTT-4.7.1-2/3]: `#` last and alone in its level, `+` alone in its level. */
export function filterProblem (f: string): string | undefined {
  if (f === '') return 'Required.'
  if (f.includes('\u0000')) return 'No NUL characters.'
  return MQTT_FILTER.test(f) ? undefined : '# only as the last level, + only as a whole level.'
}

/** A topic name to publish to: no wildcards [MQTT-3.3.2-2]. */
export function topicProblem (t: string): string | undefined {
  if (t === '') return 'Required.'
  if (/[+#\u0000]/.test(t)) return 'A topic to publish to has no + or # wildcards.'
  return undefined
}
