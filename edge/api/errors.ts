import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { MechaError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'

/**
 * Every error leaves the HTTP API as Dapr's body `{"errorCode": "...", "message": "..."}` (docs.dapr.io
 * reference/api/error_codes): MechaErrors with their own code and status, fastify's body errors mapped to
 * ERR_MALFORMED_REQUEST / ERR_BODY_TOO_LARGE, anything unexpected as a 500 that is logged, not leaked.
 */
export function installErrorHandling (app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | MechaError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof MechaError) {
      if (err.status >= 500) log.error({ err, url: req.url }, 'api request failed')
      return reply.status(err.status).send(err.toJSON())
    }
    const fe = err as FastifyError
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send(new MechaError('ERR_BODY_TOO_LARGE', fe.message).toJSON())
    }
    if (fe.validation !== undefined || (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)) {
      return reply.status(fe.statusCode ?? 400).send(new MechaError('ERR_MALFORMED_REQUEST', fe.message).toJSON())
    }
    log.error({ err, url: req.url }, 'api request failed unexpectedly')
    return reply.status(500).send({ errorCode: 'ERR_INTERNAL', message: 'internal error; see the runtime log' })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(new MechaError('ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON())
  })
}
