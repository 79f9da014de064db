/**
 * CloudEvents 1.0 envelopes as Dapr builds them (docs.dapr.io/developing-applications/building-blocks/pubsub/
 * pubsub-cloudevents; dapr/components-contrib pubsub/envelope.go): for API publishes, and for plain MQTT
 * messages that reach a Dapr subscriber. JSON format per the CloudEvents JSON spec (`data` or `data_base64`).
 */
import { randomUUID } from 'node:crypto'
import { MechaError } from '../../core/errors.ts'

export const CE_SPEC_VERSION = '1.0'
/** Dapr's default event type (envelope.go DefaultCloudEventType). */
export const CE_TYPE = 'com.dapr.event.sent'
export const CE_CONTENT_TYPE = 'application/cloudevents+json'

export interface CloudEvent {
  id: string
  source: string
  type: string
  specversion: string
  datacontenttype?: string
  data?: unknown
  data_base64?: string
  topic?: string
  pubsubname?: string
  time?: string
  expiration?: string
  traceparent?: string
  tracestate?: string
  traceid?: string
  [ext: string]: unknown
}

export function isJsonContentType (ct: string): boolean {
  const base = ct.split(';')[0].trim().toLowerCase()
  return base === 'application/json' || base.endsWith('+json')
}

/**
 * Dapr treats only application/octet-stream as binary; images, audio, video and CBOR are binary here too, so
 * their bytes are not mangled into a string (they travel as `data_base64`).
 */
export function isBinaryContentType (ct: string): boolean {
  const base = ct.split(';')[0].trim().toLowerCase()
  return base === 'application/octet-stream' || base === 'application/cbor' || base === 'application/protobuf' ||
    base.startsWith('image/') || base.startsWith('audio/') || base.startsWith('video/')
}

export interface EnvelopeInput {
  /** The body as sent; for a JSON content type fastify may already have parsed it (`parsed` then holds it). */
  body: Buffer
  parsed?: unknown
  contentType: string
  topic: string
  pubsubname: string
  source: string
  traceparent?: string
  tracestate?: string
  ttlSeconds?: number
  /** `metadata.cloudevent.*` overrides (id, source, type, …), as Dapr honours them. */
  overrides?: Record<string, string>
  now?: number
}

/** Wraps a publish body in a CloudEvent (envelope.go NewCloudEventsEnvelope). */
export function newEnvelope (inp: EnvelopeInput): CloudEvent {
  const now = inp.now ?? Date.now()
  // envelope.go: an empty content type means text/plain.
  const ct = inp.contentType === '' ? 'text/plain' : inp.contentType
  const ce: CloudEvent = {
    id: randomUUID(),
    source: inp.source,
    type: CE_TYPE,
    specversion: CE_SPEC_VERSION,
    datacontenttype: ct,
    topic: inp.topic,
    pubsubname: inp.pubsubname,
    time: new Date(now).toISOString(),
  }
  setData(ce, inp.body, ct, inp.parsed)
  applyCommon(ce, inp, now)
  return ce
}

/** `data` for JSON (a JSON body that does not parse is kept as a string, as envelope.go does), text as a string, binary as `data_base64`. */
function setData (ce: CloudEvent, body: Buffer, ct: string, parsed: unknown): void {
  if (body.length === 0 && parsed === undefined) return
  if (isJsonContentType(ct)) {
    if (parsed !== undefined) { ce.data = parsed; return }
    try { ce.data = JSON.parse(body.toString('utf8')) } catch { ce.data = body.toString('utf8') }
  } else if (isBinaryContentType(ct)) {
    ce.data_base64 = body.toString('base64')
  } else {
    ce.data = body.toString('utf8')
  }
}

function applyCommon (ce: CloudEvent, inp: EnvelopeInput, now: number): void {
  if (inp.traceparent !== undefined && inp.traceparent !== '') { ce.traceparent = inp.traceparent; ce.traceid = inp.traceparent }
  if (inp.tracestate !== undefined && inp.tracestate !== '') ce.tracestate = inp.tracestate
  for (const [k, v] of Object.entries(inp.overrides ?? {})) if (v !== '') ce[k] = v
  if (inp.ttlSeconds !== undefined) ce.expiration = new Date(now + inp.ttlSeconds * 1000).toISOString()
}

/**
 * A body sent as `application/cloudevents+json`: parsed, checked, and completed as Dapr does (missing id,
 * source, type, specversion filled in; topic and pubsubname set). Anything that is not a JSON object is
 * ERR_PUBSUB_CLOUD_EVENTS_SER.
 */
export function completeEnvelope (inp: EnvelopeInput): CloudEvent {
  let ce: unknown = inp.parsed
  if (ce === undefined) {
    try { ce = JSON.parse(inp.body.toString('utf8')) } catch (err) {
      throw new MechaError('ERR_PUBSUB_CLOUD_EVENTS_SER', `error when unmarshalling the request as cloud event: ${(err as Error).message}`)
    }
  }
  if (ce === null || typeof ce !== 'object' || Array.isArray(ce)) {
    throw new MechaError('ERR_PUBSUB_CLOUD_EVENTS_SER', 'a cloud event must be a JSON object')
  }
  const out = { ...(ce as Record<string, unknown>) } as CloudEvent
  for (const f of ['id', 'source', 'type', 'specversion', 'datacontenttype'] as const) {
    if (out[f] !== undefined && typeof out[f] !== 'string') throw new MechaError('ERR_PUBSUB_CLOUD_EVENTS_SER', `cloud event attribute "${f}" must be a string`)
  }
  if (out.specversion !== undefined && out.specversion !== CE_SPEC_VERSION) {
    throw new MechaError('ERR_PUBSUB_CLOUD_EVENTS_SER', `cloud event specversion must be ${CE_SPEC_VERSION}`)
  }
  if (out.data_base64 !== undefined && typeof out.data_base64 !== 'string') throw new MechaError('ERR_PUBSUB_CLOUD_EVENTS_SER', 'data_base64 must be a string')
  const now = inp.now ?? Date.now()
  out.id ??= randomUUID()
  out.source ??= inp.source
  out.type ??= CE_TYPE
  out.specversion ??= CE_SPEC_VERSION
  out.time ??= new Date(now).toISOString()
  out.topic = inp.topic
  out.pubsubname = inp.pubsubname
  applyCommon(out, { ...inp, traceparent: out.traceparent ?? inp.traceparent }, now)
  return out
}

/** True when a parsed value is a CloudEvent (the attributes required by the spec are present). */
export function looksLikeCloudEvent (v: unknown): v is CloudEvent {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const o = v as Record<string, unknown>
  return typeof o.specversion === 'string' && typeof o.id === 'string' && typeof o.type === 'string' && typeof o.source === 'string'
}

export interface IncomingOptions {
  topic: string
  pubsubname: string
  /** The subscription's `metadata.rawPayload`: the payload is never taken as a CloudEvent, always wrapped as bytes. */
  rawPayload: boolean
  now?: number
}

/**
 * The event a subscriber gets for one MQTT payload: a CloudEvent published through the API as it is; any
 * other JSON as the `data` of a new envelope; anything else (or everything, with rawPayload) as raw bytes in
 * `data_base64` with content type application/octet-stream, as Dapr delivers raw payloads.
 */
export function eventFromPayload (payload: Buffer, opts: IncomingOptions): CloudEvent {
  const now = opts.now ?? Date.now()
  const base = (): CloudEvent => ({
    id: randomUUID(),
    source: 'mqtt',
    type: CE_TYPE,
    specversion: CE_SPEC_VERSION,
    topic: opts.topic,
    pubsubname: opts.pubsubname,
    time: new Date(now).toISOString(),
  })
  if (!opts.rawPayload) {
    let v: unknown
    let json = false
    try { v = JSON.parse(payload.toString('utf8')); json = payload.length > 0 } catch {}
    if (json && looksLikeCloudEvent(v)) {
      // An envelope as the API publishes it; the topic is the one it actually arrived on (wildcard subscriptions).
      return { ...v, topic: opts.topic, pubsubname: opts.pubsubname }
    }
    if (json) return { ...base(), datacontenttype: 'application/json', data: v }
  }
  return { ...base(), datacontenttype: 'application/octet-stream', data_base64: payload.toString('base64') }
}

/** True once an event's `expiration` (set from `metadata.ttlInSeconds`) has passed. */
export function isExpired (ce: CloudEvent, now = Date.now()): boolean {
  if (typeof ce.expiration !== 'string') return false
  const t = Date.parse(ce.expiration)
  return Number.isFinite(t) && t <= now
}
