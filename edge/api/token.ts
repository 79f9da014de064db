import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { MechaError } from '../../core/errors.ts'

/** Routes a Dapr sidecar serves without the token (health probes run before apps know it). */
const OPEN = /^\/v1\.0\/healthz(\/outbound)?\/?(\?|$)/

/** As Dapr: when a token is set, every request but health must carry it in `dapr-api-token`. */
export function installTokenCheck (app: FastifyInstance, token: string | undefined): void {
  if (token === undefined) return
  const expected = Buffer.from(token)
  app.addHook('onRequest', async (req) => {
    if (OPEN.test(req.url)) return
    const given = req.headers['dapr-api-token']
    const got = Buffer.from(typeof given === 'string' ? given : '')
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new MechaError('ERR_API_UNAUTHORIZED', 'authentication failed: missing or wrong dapr-api-token header')
    }
  })
}
