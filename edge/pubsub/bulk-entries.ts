/**
 * The body of a bulk publish (docs.dapr.io/reference/api/pubsub_api, "Publish multiple messages"): a JSON
 * array of `{entryId, event, contentType, metadata?}`. Any problem is ERR_PUBSUB_EVENTS_SER (400).
 */
import { MechaError } from '../../core/errors.ts'
import { isJsonContentType } from './cloudevent.ts'

export interface BulkEntry {
  entryId: string
  body: Buffer
  parsed?: unknown
  contentType: string
  metadata: Record<string, string>
}

function bad (message: string): MechaError {
  return new MechaError('ERR_PUBSUB_EVENTS_SER', message)
}

/**
 * A field by name, case-insensitively as Go's encoding/json matches them in Dapr: the Dapr JS SDK sends
 * `entryID` where the API reference says `entryId`.
 */
function field (o: Record<string, unknown>, name: string): unknown {
  if (name in o) return o[name]
  const lower = name.toLowerCase()
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k]
  return undefined
}

export function bulkEntries (body: unknown): BulkEntry[] {
  if (!Array.isArray(body)) throw bad('the body must be a JSON array of entries')
  const seen = new Set<string>()
  return body.map((e, i): BulkEntry => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw bad(`entry ${i} must be an object`)
    const o = e as Record<string, unknown>
    const [entryId, event, contentType, metadata] = ['entryId', 'event', 'contentType', 'metadata'].map((k) => field(o, k))
    if (typeof entryId !== 'string' || entryId === '') throw bad(`entry ${i}: entryId must be a non-empty string`)
    if (seen.has(entryId)) throw bad(`entry ${i}: entryId "${entryId}" is not unique`)
    seen.add(entryId)
    if (event === undefined) throw bad(`entry ${entryId}: event is required`)
    if (contentType !== undefined && typeof contentType !== 'string') throw bad(`entry ${entryId}: contentType must be a string`)
    const ct = contentType ?? (typeof event === 'string' ? 'text/plain' : 'application/json')
    const meta: Record<string, string> = {}
    if (metadata !== undefined) {
      if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw bad(`entry ${entryId}: metadata must be an object of strings`)
      for (const [k, v] of Object.entries(metadata)) {
        if (typeof v !== 'string') throw bad(`entry ${entryId}: metadata.${k} must be a string`)
        meta[k.startsWith('metadata.') ? k.slice('metadata.'.length) : k] = v
      }
    }
    const base = ct.split(';')[0].trim().toLowerCase()
    if (isJsonContentType(base)) {
      return { entryId, body: Buffer.from(JSON.stringify(event)), parsed: event, contentType: ct, metadata: meta }
    }
    if (typeof event !== 'string') throw bad(`entry ${entryId}: the event of a ${ct} entry must be a string`)
    return { entryId, body: Buffer.from(event, 'utf8'), contentType: ct, metadata: meta }
  })
}
