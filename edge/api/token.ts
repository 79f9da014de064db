import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MechaError } from '../../core/errors.ts'

/** Routes a Dapr sidecar serves without the token (health probes run before apps know it). */
const OPEN = /^\/v1\.0\/healthz(\/outbound)?\/?(\?|$)/

function same (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * As Dapr: when a token is set, every request but health must carry it in `dapr-api-token`. Supervised apps
 * get a token of their own instead (`appTokens`: token → app id), which the API accepts as well and which tells
 * the runtime which app is calling — what a per-app sidecar knows in Dapr.
 */
export function installTokenCheck (app: FastifyInstance, token: () => string | undefined, appTokens: ReadonlyMap<string, string> = new Map()): void {
  // Read per request: a hot reload may set, change or clear the token.
  app.addHook('onRequest', async (req) => {
    const current = token()
    if (current === undefined || OPEN.test(req.url)) return
    const given = req.headers['dapr-api-token']
    const text = typeof given === 'string' ? given : ''
    if (same(Buffer.from(text), Buffer.from(current)) || appTokens.has(text)) return
    throw new MechaError('ERR_API_UNAUTHORIZED', 'authentication failed: missing or wrong dapr-api-token header')
  })
}

/** The supervised app a request comes from, by its own API token; undefined for anyone else. */
export function callerByToken (req: FastifyRequest, appTokens: ReadonlyMap<string, string>): string | undefined {
  const given = req.headers['dapr-api-token']
  return typeof given === 'string' ? appTokens.get(given) : undefined
}
