import type { FastifyInstance } from 'fastify'
import { MetadataService, type MetadataBody, type MetadataDeps } from '../../services/metadata-service.ts'

export type { MetadataBody, MetadataDeps }

/** `GET /v1.0/metadata` (docs.dapr.io reference/api/metadata_api). Dapr SDKs poll it for readiness. */
export async function metadataRoutes (app: FastifyInstance, deps: MetadataDeps & { metadataService?: MetadataService }): Promise<void> {
  const svc = deps.metadataService ?? new MetadataService(deps)
  app.get('/v1.0/metadata', async () => await svc.get())
  app.put<{ Params: { key: string } }>('/v1.0/metadata/:key', async (req, reply) => {
    const body = req.body
    const value = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body ?? '')
    svc.set(req.params.key, value)
    return reply.status(204).send()
  })
}
