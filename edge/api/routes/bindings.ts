/**
 * The Dapr output-binding API (docs.dapr.io/reference/api/bindings_api): `POST /v1.0/bindings/{name}` with
 * `{"operation", "data", "metadata"}`. As Dapr does, success is 200 with the binding's data as the body (204
 * when there is none) and its response metadata as `metadata.<key>` headers; every failure — an unknown
 * binding, a failed operation — is 500 `ERR_INVOKE_OUTPUT_BINDING`, the binding's own code kept in the message.
 * Register it in its own scope: `app.register((scope) => bindingRoutes(scope, deps))`.
 */
import type { FastifyInstance } from 'fastify'
import type { BindingResponse } from '../../../core/bindings/types.ts'
import { MechaError, isMechaError } from '../../../core/errors.ts'

export interface BindingRouteDeps {
  /** BindingHost.invoke; throws ERR_BINDING_NOT_FOUND for an unknown name. */
  invoke(name: string, operation: string, data: unknown, metadata: Record<string, string>): Promise<BindingResponse>
}

type Params = { Params: { name: string } }

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

export async function bindingRoutes (app: FastifyInstance, deps: BindingRouteDeps): Promise<void> {
  app.post<Params>('/v1.0/bindings/:name', async (req, reply) => {
    const name = req.params.name
    let body: unknown = req.body
    // Clients that send JSON without its content type reach us as bytes.
    if (Buffer.isBuffer(body)) {
      try { body = body.length === 0 ? undefined : JSON.parse(body.toString('utf8')) } catch (err) {
        throw new MechaError('ERR_MALFORMED_REQUEST', `invalid JSON body: ${(err as Error).message}`)
      }
    }
    if (!isObject(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be a JSON object {"operation", "data", "metadata"}')
    if (typeof body.operation !== 'string' || body.operation === '') throw new MechaError('ERR_MALFORMED_REQUEST', '"operation" must be a non-empty string')
    if (body.metadata !== undefined && !isObject(body.metadata)) throw new MechaError('ERR_MALFORMED_REQUEST', '"metadata" must be an object of strings')
    const metadata: Record<string, string> = {}
    for (const [k, v] of Object.entries((body.metadata ?? {}) as Record<string, unknown>)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v)
    let r: BindingResponse
    try {
      r = await deps.invoke(name, body.operation, body.data, metadata)
    } catch (err) {
      const detail = isMechaError(err) ? `${(err as Error).message} (${err.code})` : (err as Error).message
      throw new MechaError('ERR_INVOKE_OUTPUT_BINDING', `error invoking output binding ${name}: ${detail}`, { cause: err })
    }
    for (const [k, v] of Object.entries(r.metadata ?? {})) {
      // A header value cannot hold control characters; such metadata stays out rather than breaking the reply.
      if (/^[\x20-\x7e\t]*$/.test(v)) void reply.header(`metadata.${k}`, v)
    }
    if (r.data === undefined || r.data === null) return await reply.status(204).send()
    if (Buffer.isBuffer(r.data) || r.data instanceof Uint8Array) return await reply.status(200).header('content-type', 'application/octet-stream').send(Buffer.from(r.data))
    return await reply.status(200).header('content-type', 'application/json').send(JSON.stringify(r.data))
  })
}
