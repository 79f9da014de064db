import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { MechaError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'

/** The admin API's error body: `{errorCode, message}`, plus `problems` (each with its path) when a config is refused. */
export interface AdminErrorBody { errorCode: string; message: string; problems?: Array<{ path: string; message: string }> }

export function errorBody (err: MechaError): AdminErrorBody {
  const body: AdminErrorBody = err.toJSON()
  if (Array.isArray(err.details)) body.problems = err.details as AdminErrorBody['problems']
  return body
}

/**
 * Every error on the UI port leaves as `{errorCode, message}`: MechaErrors with their status (429s with
 * Retry-After), fastify's own 4xx as ERR_MALFORMED_REQUEST / ERR_BODY_TOO_LARGE, anything else a logged 500.
 */
export function installAdminErrors (app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | MechaError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof MechaError) {
      if (err.status >= 500) log.error({ err, url: req.url }, 'admin request failed')
      const retry = (err.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds
      if (typeof retry === 'number') void reply.header('retry-after', String(retry))
      return reply.status(err.status).send(errorBody(err))
    }
    const fe = err as FastifyError
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send(new MechaError('ERR_BODY_TOO_LARGE', fe.message).toJSON())
    if (fe.validation !== undefined || (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)) {
      return reply.status(fe.statusCode ?? 400).send(new MechaError('ERR_MALFORMED_REQUEST', fe.message).toJSON())
    }
    log.error({ err, url: req.url }, 'admin request failed unexpectedly')
    return reply.status(500).send({ errorCode: 'ERR_INTERNAL', message: 'internal error; see the runtime log' })
  })
}
