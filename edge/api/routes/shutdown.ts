import type { FastifyInstance } from 'fastify'

/** `POST /v1.0/shutdown` (docs.dapr.io reference/api/shutdown_api): answer 204 first, then stop gracefully. */
export async function shutdownRoutes (app: FastifyInstance, deps: { shutdown: () => void }): Promise<void> {
  app.post('/v1.0/shutdown', async (_req, reply) => {
    reply.raw.once('finish', () => { setImmediate(deps.shutdown) })
    return reply.status(204).send()
  })
}
