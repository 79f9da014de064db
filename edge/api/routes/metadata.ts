import type { FastifyInstance } from 'fastify'

export interface MetadataBody {
  id: string
  runtimeVersion: string
  enabledFeatures: string[]
  actorRuntime: { runtimeStatus: string; activeActors: unknown[]; hostReady: boolean; placement: string }
  components: Array<{ name: string; type: string; version: string; capabilities: string[] }>
  httpEndpoints: unknown[]
  subscriptions: unknown[]
  appConnectionProperties: Record<string, unknown>
  /** Dapr's free-form string map; Mecha puts broker, store and cloud-link figures here. */
  extended: Record<string, string>
}

export interface MetadataDeps {
  metadata: () => Promise<MetadataBody>
  /** `PUT /v1.0/metadata/{key}` stores app-supplied attributes in `extended`, as Dapr does. */
  setExtended: (key: string, value: string) => void
}

/** `GET /v1.0/metadata` (docs.dapr.io reference/api/metadata_api). Dapr SDKs poll it for readiness. */
export async function metadataRoutes (app: FastifyInstance, deps: MetadataDeps): Promise<void> {
  app.get('/v1.0/metadata', async () => await deps.metadata())
  app.put<{ Params: { key: string } }>('/v1.0/metadata/:key', async (req, reply) => {
    const body = req.body
    const value = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body ?? '')
    deps.setExtended(req.params.key, value)
    return reply.status(204).send()
  })
}
