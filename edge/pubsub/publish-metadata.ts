/**
 * The `metadata.*` query parameters of a publish (docs.dapr.io/reference/api/pubsub_api, "Metadata"):
 * rawPayload, ttlInSeconds, and the MQTT ones Dapr's pubsub.mqtt3 component reads (qos, retain), plus
 * `cloudevent.*` overrides of envelope attributes.
 */
import { MechaError } from '../../core/errors.ts'

export interface PublishMetadata {
  rawPayload: boolean
  ttlSeconds?: number
  qos: 0 | 1 | 2
  retain: boolean
  /** cloudevent.id, cloudevent.source, cloudevent.type, … without the prefix. */
  overrides: Record<string, string>
}

function bool (raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === '') return false
  const v = raw.toLowerCase()
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw new MechaError('ERR_PUBSUB_REQUEST_METADATA', `metadata.${name} must be true or false, not "${raw}"`)
}

/** Parses (and validates) publish metadata; `defaults` are the request's metadata under a bulk entry's own. */
export function parsePublishMetadata (meta: Record<string, string>, defaults: Record<string, string> = {}): PublishMetadata {
  const m = { ...defaults, ...meta }
  const out: PublishMetadata = { rawPayload: bool(m.rawPayload, 'rawPayload'), qos: 1, retain: bool(m.retain, 'retain'), overrides: {} }
  if (m.ttlInSeconds !== undefined && m.ttlInSeconds !== '') {
    const ttl = Number(m.ttlInSeconds)
    if (!Number.isInteger(ttl) || ttl <= 0) throw new MechaError('ERR_PUBSUB_REQUEST_METADATA', `metadata.ttlInSeconds must be a positive integer, not "${m.ttlInSeconds}"`)
    out.ttlSeconds = ttl
  }
  if (m.qos !== undefined && m.qos !== '') {
    if (!['0', '1', '2'].includes(m.qos)) throw new MechaError('ERR_PUBSUB_REQUEST_METADATA', `metadata.qos must be 0, 1 or 2, not "${m.qos}"`)
    out.qos = Number(m.qos) as 0 | 1 | 2
  }
  for (const [k, v] of Object.entries(m)) {
    if (!k.startsWith('cloudevent.')) continue
    const attr = k.slice('cloudevent.'.length)
    // Dapr lets these envelope attributes be overridden; topic and pubsubname stay the runtime's.
    if (['id', 'source', 'type', 'subject', 'traceparent', 'tracestate', 'traceid', 'datacontenttype'].includes(attr)) out.overrides[attr] = v
  }
  return out
}
