/**
 * `metadata.<name>=<value>` query parameters, prefix stripped, as Dapr reads them for every API
 * (getMetadataFromRequest): a repeated parameter counts with its first value, as Go's `url.Values.Get` does.
 */
export function queryMetadata (query: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (query === null || typeof query !== 'object') return out
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    if (!k.startsWith('metadata.')) continue
    const value = Array.isArray(v) ? v[0] : v
    if (typeof value === 'string') out[k.slice('metadata.'.length)] = value
  }
  return out
}
