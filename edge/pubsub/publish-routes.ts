/**
 * The Dapr publish API (docs.dapr.io/reference/api/pubsub_api): `POST /v1.0/publish/{pubsub}/{topic}` and the
 * alpha bulk form `POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}`. Every check runs before anything is put
 * on the bus, so a bad request publishes nothing; 204 comes only after the broker (and the cloud outbox,
 * through the bus interceptors) accepted the message.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { LocalBus } from '../../core/bus.ts'
import { MechaError } from '../../core/errors.ts'
import { parsePublishMetadata } from './publish-metadata.ts'
import { queryMetadata } from '../api/query-metadata.ts'
import { publishOnBus, toBusMessage, type PublishInput } from './publish-message.ts'
import { checkPublishTopic } from './topic.ts'
import { bulkEntries } from './bulk-entries.ts'
import { isJsonContentType } from './cloudevent.ts'
import type { PubsubMetrics } from './metrics.ts'
import { rawJsonBody } from '../api/server.ts'

export interface PublishRouteDeps {
  bus: LocalBus
  /** The pub/sub component names: `pubsub` and every `pubsub.mqtt` component. */
  pubsubNames: () => readonly string[]
  /** The publishing app (the CloudEvent `source`): `dapr-app-id`, else the runtime id. */
  appIdFor: (req: FastifyRequest) => string
  /** mqtt.maxPayloadBytes: the envelope must fit in one MQTT message. */
  maxPayloadBytes: number
  metrics?: PubsubMetrics
}

type Params = { Params: { pubsubname: string; '*': string } }

function header (req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name]
  return typeof v === 'string' ? v : undefined
}

/** The API hands bodies over as a Buffer, a string (fastify's text/plain parser) or parsed JSON. */
function bodyOf (raw: unknown, contentType: string, exact?: Buffer): { body: Buffer; parsed?: unknown } {
  if (Buffer.isBuffer(raw)) return { body: raw }
  if (raw === undefined) return { body: Buffer.alloc(0) }
  if (typeof raw === 'string' && !isJsonContentType(contentType)) return { body: Buffer.from(raw, 'utf8') }
  // JSON arrives parsed; the bytes on the wire are the ones the app sent (spacing, number forms kept).
  return { body: exact ?? Buffer.from(JSON.stringify(raw)), parsed: raw }
}

export async function publishRoutes (app: FastifyInstance, deps: PublishRouteDeps): Promise<void> {
  const target = (req: FastifyRequest<Params>): { pubsubname: string; topic: string } => {
    const { pubsubname } = req.params
    if (pubsubname === '') throw new MechaError('ERR_PUBSUB_EMPTY', 'pubsub name is empty')
    if (!deps.pubsubNames().includes(pubsubname)) throw new MechaError('ERR_PUBSUB_NOT_FOUND', `pubsub ${pubsubname} not found`)
    const topic = req.params['*']
    checkPublishTopic(topic)
    return { pubsubname, topic }
  }

  app.post<Params>('/v1.0/publish/:pubsubname/*', async (req, reply) => {
    const { pubsubname, topic } = target(req)
    const meta = parsePublishMetadata(queryMetadata(req.query))
    const contentType = header(req, 'content-type') ?? ''
    const input: PublishInput = {
      pubsubname,
      topic,
      ...bodyOf(req.body, contentType, rawJsonBody(req)),
      contentType,
      meta,
      source: deps.appIdFor(req),
      traceparent: header(req, 'traceparent'),
      tracestate: header(req, 'tracestate'),
    }
    const msg = toBusMessage(input, deps.maxPayloadBytes)
    await publishOnBus(deps.bus, msg)
    deps.metrics?.published(pubsubname, 'success')
    return await reply.status(204).send()
  })

  app.post<Params>('/v1.0-alpha1/publish/bulk/:pubsubname/*', async (req, reply) => {
    const { pubsubname, topic } = target(req)
    const reqMeta = queryMetadata(req.query)
    parsePublishMetadata(reqMeta) // request-level metadata is checked even with no entries
    const entries = bulkEntries(req.body)
    const source = deps.appIdFor(req)
    // All entries are turned into messages first: one bad entry rejects the whole request, nothing published.
    const msgs = entries.map((e) => ({
      entryId: e.entryId,
      msg: toBusMessage({ pubsubname, topic, body: e.body, parsed: e.parsed, contentType: e.contentType, meta: parsePublishMetadata(e.metadata, reqMeta), source, traceparent: header(req, 'traceparent'), tracestate: header(req, 'tracestate') }, deps.maxPayloadBytes),
    }))
    const failedEntries: Array<{ entryId: string; error: string }> = []
    // In order, one after the other: per-topic order holds within a bulk request too.
    for (const { entryId, msg } of msgs) {
      try {
        await publishOnBus(deps.bus, msg)
        deps.metrics?.published(pubsubname, 'success')
      } catch (err) {
        deps.metrics?.published(pubsubname, 'failure')
        failedEntries.push({ entryId, error: (err as Error).message })
      }
    }
    if (failedEntries.length === 0) return await reply.status(204).send()
    // pubsub_api "Bulk publish … response": 500 with the failed entries.
    return await reply.status(500).send({ failedEntries, errorCode: 'ERR_PUBSUB_PUBLISH_MESSAGE' })
  })
}
