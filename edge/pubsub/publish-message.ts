/**
 * From one publish request (or one bulk entry) to the MQTT payload: a CloudEvent JSON, or the body verbatim
 * with `metadata.rawPayload=true` (docs.dapr.io/developing-applications/building-blocks/pubsub/pubsub-raw).
 */
import type { BusMessage, LocalBus } from '../../core/bus.ts'
import { MechaError, isMechaError } from '../../core/errors.ts'
import { CE_CONTENT_TYPE, completeEnvelope, newEnvelope } from './cloudevent.ts'
import type { PublishMetadata } from './publish-metadata.ts'

export interface PublishInput {
  pubsubname: string
  topic: string
  body: Buffer
  /** The body already parsed by the API (JSON content types). */
  parsed?: unknown
  contentType: string
  meta: PublishMetadata
  source: string
  traceparent?: string
  tracestate?: string
}

/** The message to put on the bus, checked against the broker's payload limit. */
export function toBusMessage (inp: PublishInput, maxPayloadBytes: number): BusMessage {
  let payload: Buffer
  const base = inp.contentType.split(';')[0].trim().toLowerCase()
  if (inp.meta.rawPayload) {
    payload = inp.parsed !== undefined && inp.body.length === 0 ? Buffer.from(JSON.stringify(inp.parsed)) : inp.body
  } else {
    const env = { body: inp.body, parsed: inp.parsed, contentType: inp.contentType, topic: inp.topic, pubsubname: inp.pubsubname, source: inp.source, traceparent: inp.traceparent, tracestate: inp.tracestate, ttlSeconds: inp.meta.ttlSeconds, overrides: inp.meta.overrides }
    const ce = base === CE_CONTENT_TYPE ? completeEnvelope(env) : newEnvelope(env)
    payload = Buffer.from(JSON.stringify(ce))
  }
  if (payload.length > maxPayloadBytes) {
    throw new MechaError('ERR_BODY_TOO_LARGE', `the message is ${payload.length} bytes; the broker takes at most ${maxPayloadBytes} (mqtt.maxPayloadBytes)`)
  }
  return { topic: inp.topic, payload, qos: inp.meta.qos, retain: inp.meta.retain, origin: 'api' }
}

/** Publishes on the bus; resolves once the broker (and any durable interceptor, e.g. the cloud outbox) accepted it. */
export async function publishOnBus (bus: LocalBus, msg: BusMessage): Promise<void> {
  try {
    await bus.publish(msg)
  } catch (err) {
    const why = isMechaError(err) ? `${err.code}: ${err.message}` : (err as Error).message
    throw new MechaError('ERR_PUBSUB_PUBLISH_MESSAGE', `error when publishing to topic ${msg.topic}: ${why}`, { cause: err })
  }
}
