/** MQTT topic matching, shared by the broker's ACL, pub/sub routing and the cloud bridge's rules. */

/** Whether `topic` matches the MQTT filter `filter` ([MQTT-4.7.1]: `+` one level, `#` the rest). */
export function topicMatches (filter: string, topic: string): boolean {
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
