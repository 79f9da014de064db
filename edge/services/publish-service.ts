/**
 * The Dapr publish building block without a transport (docs.dapr.io/reference/api/pubsub_api): one message or
 * a bulk of entries to a pub/sub topic. Every check runs before anything is put on the bus, so a bad request
 * publishes nothing; a call resolves only after the broker (and the cloud outbox, through the bus
 * interceptors) accepted the message. HTTP (edge/pubsub/publish-routes.ts) and gRPC adapt to it.
 */
import type { LocalBus } from '../../core/bus.ts'
import { MechaError } from '../../core/errors.ts'
import type { BulkEntry } from '../pubsub/bulk-entries.ts'
import type { PubsubMetrics } from '../pubsub/metrics.ts'
import { parsePublishMetadata } from '../pubsub/publish-metadata.ts'
import { publishOnBus, toBusMessage } from '../pubsub/publish-message.ts'
import { checkPublishTopic } from '../pubsub/topic.ts'
import type { Caller } from './caller.ts'

export interface PublishServiceDeps {
  bus: LocalBus
  /** The pub/sub component names: `pubsub` and every `pubsub.mqtt` component. */
  pubsubNames: () => readonly string[]
  /** mqtt.maxPayloadBytes: the envelope must fit in one MQTT message. Read per request. */
  readonly maxPayloadBytes: number
  metrics?: PubsubMetrics
}

export interface PublishRequest {
  pubsubname: string
  topic: string
  body: Buffer
  /** The body already parsed (JSON content types over HTTP). */
  parsed?: unknown
  contentType: string
  /** Request metadata without the `metadata.` prefix (rawPayload, ttlInSeconds, qos, retain, cloudevent.*). */
  metadata: Record<string, string>
  traceparent?: string
  tracestate?: string
}

export interface BulkPublishRequest {
  pubsubname: string
  topic: string
  entries: readonly BulkEntry[]
  metadata: Record<string, string>
  traceparent?: string
  tracestate?: string
}

export interface FailedEntry { entryId: string; error: string }

export class PublishService {
  readonly #d: PublishServiceDeps

  constructor (deps: PublishServiceDeps) { this.#d = deps }

  /** ERR_PUBSUB_EMPTY / ERR_PUBSUB_NOT_FOUND / the topic checks, before anything else. */
  target (pubsubname: string, topic: string): void {
    if (pubsubname === '') throw new MechaError('ERR_PUBSUB_EMPTY', 'pubsub name is empty')
    if (!this.#d.pubsubNames().includes(pubsubname)) throw new MechaError('ERR_PUBSUB_NOT_FOUND', `pubsub ${pubsubname} not found`)
    checkPublishTopic(topic)
  }

  /** The request-level checks of a bulk publish (target, metadata), for adapters that parse entries after them. */
  checkBulk (pubsubname: string, topic: string, metadata: Record<string, string>): void {
    this.target(pubsubname, topic)
    parsePublishMetadata(metadata)
  }

  async publish (caller: Caller, req: PublishRequest): Promise<void> {
    this.target(req.pubsubname, req.topic)
    const meta = parsePublishMetadata(req.metadata)
    const msg = toBusMessage({ pubsubname: req.pubsubname, topic: req.topic, body: req.body, parsed: req.parsed, contentType: req.contentType, meta, source: caller.appId, traceparent: req.traceparent, tracestate: req.tracestate }, this.#d.maxPayloadBytes)
    await publishOnBus(this.#d.bus, msg)
    this.#d.metrics?.published(req.pubsubname, 'success')
  }

  /** Publishes every entry in order; resolves to the entries that failed (empty: all published). */
  async bulkPublish (caller: Caller, req: BulkPublishRequest): Promise<FailedEntry[]> {
    this.checkBulk(req.pubsubname, req.topic, req.metadata) // checked even with no entries
    const { pubsubname, topic } = req
    // All entries are turned into messages first: one bad entry rejects the whole request, nothing published.
    const msgs = req.entries.map((e) => ({
      entryId: e.entryId,
      msg: toBusMessage({ pubsubname, topic, body: e.body, parsed: e.parsed, contentType: e.contentType, meta: parsePublishMetadata(e.metadata, req.metadata), source: caller.appId, traceparent: req.traceparent, tracestate: req.tracestate }, this.#d.maxPayloadBytes),
    }))
    const failed: FailedEntry[] = []
    // In order, one after the other: per-topic order holds within a bulk request too.
    for (const { entryId, msg } of msgs) {
      try {
        await publishOnBus(this.#d.bus, msg)
        this.#d.metrics?.published(pubsubname, 'success')
      } catch (err) {
        this.#d.metrics?.published(pubsubname, 'failure')
        failed.push({ entryId, error: (err as Error).message })
      }
    }
    return failed
  }
}
