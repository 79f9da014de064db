import type { FastifyInstance } from 'fastify'
import { MechaError } from '../../../core/errors.ts'

export interface HealthDeps {
  /** The runtime's phase: healthz answers 204 only while `running`. */
  phase: () => 'starting' | 'running' | 'stopping' | 'stopped'
  /** Whether every component is ready (Dapr's meaning of outbound health; the cloud link is not a component). */
  componentsReady: () => boolean
}

/** `GET /v1.0/healthz` and `/v1.0/healthz/outbound` (docs.dapr.io reference/api/health_api). */
export async function healthRoutes (app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get('/v1.0/healthz', async (_req, reply) => {
    const phase = deps.phase()
    if (phase !== 'running') throw new MechaError('ERR_HEALTH_NOT_READY', `dapr is not ready: runtime is ${phase}`)
    return reply.status(204).send()
  })
  app.get('/v1.0/healthz/outbound', async (_req, reply) => {
    if (!deps.componentsReady()) throw new MechaError('ERR_HEALTH_OUTBOUND_NOT_READY', 'dapr outbound is not ready: components are starting')
    return reply.status(204).send()
  })
}
