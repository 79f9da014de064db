/**
 * Request bodies of the state, lock and jobs HTTP APIs. Dapr reads these bodies as JSON whatever the
 * Content-Type says, so a body may arrive already parsed (application/json) or as a Buffer/string (any other
 * type, depending on the host's parsers); both end up as the same JSON value here. The field checks shared
 * with gRPC live in edge/services/state/fields.ts.
 */
import type { FastifyRequest } from 'fastify'
import { MechaError } from '../../../../core/errors.ts'

export { bodyMetadata, concurrencyFrom, etagFrom, isObject, ttlFrom } from '../../../services/state/fields.ts'

export function jsonBody (req: FastifyRequest): unknown {
  const body = req.body
  if (body === undefined || body === null) return undefined
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : undefined
  if (text === undefined) return body
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new MechaError('ERR_MALFORMED_REQUEST', `invalid JSON body: ${(err as Error).message}`)
  }
}
