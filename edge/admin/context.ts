import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Clock } from '../../core/clock.ts'
import type { AdminAuth } from './auth/admin-auth.ts'
import type { AdminBackend } from './backend.ts'
import { sessionOf } from './guard.ts'

/** What every admin route file gets. */
export interface AdminContext {
  auth: AdminAuth
  backend: AdminBackend
  /** Served over HTTPS: the cookie is `Secure` and `__Host-` prefixed. */
  secure: boolean
  clock: Clock
  /** Open SSE streams, ended when the server closes. */
  streams: Set<() => void>
  /** @default 15000 */
  heartbeatMs?: number
}

export type AdminRoutes = (app: FastifyInstance, ctx: AdminContext) => void

/** For SSE: the stream ends at the first heartbeat after its session did (logout, expiry). */
export function sessionAlive (ctx: AdminContext, req: FastifyRequest): () => boolean {
  const id = sessionOf(req).id
  return () => ctx.auth.sessions.get(id, false) !== undefined
}
