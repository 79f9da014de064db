/** MQTT topic filters and the prefix mapping the forward and receive rules use. */

/** Whether `topic` matches the MQTT filter `filter` (one implementation for the whole runtime, in core). */
export { topicMatches as matchTopic } from '../core/topics.ts'

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
