/**
 * Topic names and filters. A Dapr topic is an MQTT topic, verbatim (DESIGN), so MQTT's rules apply:
 * MQTT 3.1.1 section 4.7.
 */
import { MechaError } from '../../core/errors.ts'

/**
 * The longest topic the API publishes to. MQTT allows 65535 bytes [MQTT-1.5.3], but the topic travels in the
 * URL path (Node limits the request head to 16 KiB), and the API router caps one path parameter at 1024.
 */
export const MAX_TOPIC_BYTES = 1024

/** A topic to publish to: not empty, no wildcards [MQTT-3.3.2-2], no NUL [MQTT-1.5.3-2], not too long. */
export function checkPublishTopic (topic: string): void {
  if (topic === '') throw new MechaError('ERR_TOPIC_NAME_EMPTY', 'topic is empty')
  if (topic.includes('+') || topic.includes('#')) {
    throw new MechaError('ERR_TOPIC_INVALID', `topic "${topic}" contains an MQTT wildcard; publish needs a topic name [MQTT-3.3.2-2]`)
  }
  if (topic.includes('\u0000')) throw new MechaError('ERR_TOPIC_INVALID', 'topic contains U+0000 [MQTT-1.5.3-2]')
  const bytes = Buffer.byteLength(topic, 'utf8')
  if (bytes > MAX_TOPIC_BYTES) throw new MechaError('ERR_TOPIC_INVALID', `topic is ${bytes} bytes; at most ${MAX_TOPIC_BYTES}`)
}

/** Why a subscription filter is invalid, or undefined when it is valid [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]. */
export function filterProblem (filter: string): string | undefined {
  if (filter === '') return 'the topic is empty [MQTT-4.7.3-1]'
  if (filter.includes('\u0000')) return 'the topic contains U+0000 [MQTT-1.5.3-2]'
  if (Buffer.byteLength(filter, 'utf8') > 65535) return 'the topic is longer than 65535 bytes [MQTT-1.5.3]'
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return '"#" must be a whole level and the last one [MQTT-4.7.1-2]'
    if (l.includes('+') && l !== '+') return '"+" must be a whole level [MQTT-4.7.1-3]'
  }
  return undefined
}

/** True when an MQTT filter matches a topic name (the one matcher, in core). */
export { topicMatches as filterMatches } from '../../core/topics.ts'
