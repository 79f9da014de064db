/** MQTT topic filters and the prefix mapping the forward and receive rules use. */

/** Whether `topic` matches the MQTT filter `filter` ([MQTT-4.7.1]: `+` one level, `#` the rest, `$` topics only explicitly). */
export function matchTopic (filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with '$'.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

/** The levels of a filter before its first wildcard, with the trailing `/`: `a/b/#` → `a/b/`, `a/+/c` → `a/`, `#` → ''. */
export function literalPrefix (filter: string): string {
  const levels = filter.split('/')
  const i = levels.findIndex((l) => l === '+' || l === '#')
  if (i === -1) return filter
  return levels.slice(0, i).map((l) => l + '/').join('')
}

/** Expands `{id}` (the node id). */
export function expandId (template: string, nodeId: string): string {
  return template.replaceAll('{id}', nodeId)
}

/**
 * Maps a topic matched by `filter` to the other side: the filter's literal prefix is replaced by `to`.
 * A `to` containing `{topic}` is a template instead, `{topic}` being the whole original topic.
 * (`sensors/#` → `gateways/gw-01/` maps `sensors/t1` to `gateways/gw-01/t1`.)
 */
export function mapTopic (filter: string, to: string, topic: string): string {
  if (to.includes('{topic}')) return to.replaceAll('{topic}', topic)
  const prefix = literalPrefix(filter)
  const rest = topic.startsWith(prefix) ? topic.slice(prefix.length) : topic
  // An exact filter (no wildcard) has the whole topic as its prefix: map it onto `to` itself.
  if (rest === '') return to.endsWith('/') && to.length > 1 ? to.slice(0, -1) : (to === '' ? topic : to)
  return to + rest
}
