/**
 * The Dapr publish API (docs.dapr.io/reference/api/pubsub_api): `POST /v1.0/publish/{pubsub}/{topic}` and the
 * alpha bulk form `POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}`. A thin adapter over the PublishService
 * (shared with gRPC): every check runs before anything is put on the bus, so a bad request publishes nothing;
 * 204 comes only after the broker (and the cloud outbox, through the bus interceptors) accepted the message.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { LocalBus } from '../../core/bus.ts'
import { queryMetadata } from '../api/query-metadata.ts'
import { bulkEntries } from './bulk-entries.ts'
import { isJsonContentType } from './cloudevent.ts'
import type { PubsubMetrics } from './metrics.ts'
import { rawJsonBody } from '../api/server.ts'
import { PublishService } from '../services/publish-service.ts'

export interface PublishRouteDeps {
  bus: LocalBus
  /** The pub/sub component names: `pubsub` and every `pubsub.mqtt` component. */
  pubsubNames: () => readonly string[]
  /** The publishing app (the CloudEvent `source`): `dapr-app-id`, else the runtime id. */
  appIdFor: (req: FastifyRequest) => string
  /** mqtt.maxPayloadBytes: the envelope must fit in one MQTT message. */
  maxPayloadBytes: number
  metrics?: PubsubMetrics
  /** The service to adapt; made from the fields above when absent (the runtime may share one with gRPC). */
  publishService?: PublishService
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
  const svc = deps.publishService ?? new PublishService(deps)

  app.post<Params>('/v1.0/publish/:pubsubname/*', async (req, reply) => {
    const { pubsubname } = req.params
    const topic = req.params['*']
    svc.target(pubsubname, topic)
    const contentType = header(req, 'content-type') ?? ''
    await svc.publish({ appId: deps.appIdFor(req) }, {
      pubsubname,
      topic,
      ...bodyOf(req.body, contentType, rawJsonBody(req)),
      contentType,
      metadata: queryMetadata(req.query),
      traceparent: header(req, 'traceparent'),
      tracestate: header(req, 'tracestate'),
    })
    return await reply.status(204).send()
  })

  app.post<Params>('/v1.0-alpha1/publish/bulk/:pubsubname/*', async (req, reply) => {
    const { pubsubname } = req.params
    const topic = req.params['*']
    const metadata = queryMetadata(req.query)
    svc.checkBulk(pubsubname, topic, metadata)
    const entries = bulkEntries(req.body)
    const failedEntries = await svc.bulkPublish({ appId: deps.appIdFor(req) }, { pubsubname, topic, entries, metadata, traceparent: header(req, 'traceparent'), tracestate: header(req, 'tracestate') })
    if (failedEntries.length === 0) return await reply.status(204).send()
    // pubsub_api "Bulk publish … response": 500 with the failed entries.
    return await reply.status(500).send({ failedEntries, errorCode: 'ERR_PUBSUB_PUBLISH_MESSAGE' })
  })
}
