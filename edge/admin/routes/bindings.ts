import { MechaError } from '../../../core/errors.ts'
import type { AdminBackend, AdminBindingRequest } from '../backend.ts'
import type { AdminRoutes } from '../context.ts'
import { idParam } from './params.ts'

type BindingsGroup = NonNullable<AdminBackend['bindings']>

function group (backend: AdminBackend): BindingsGroup {
  if (backend.bindings === undefined) throw new MechaError('ERR_NOT_FOUND', 'device bindings are not available in this runtime')
  return backend.bindings
}

/** `{operation, data?, metadata?}` as Dapr's binding request body; metadata values must be strings. */
function requestOf (body: unknown): AdminBindingRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be {"operation": "...", "data"?: …, "metadata"?: {…}}')
  const { operation, data, metadata } = body as Record<string, unknown>
  if (typeof operation !== 'string' || operation === '' || operation.length > 64) throw new MechaError('ERR_MALFORMED_REQUEST', 'operation must be a non-empty string')
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || Object.values(metadata).some((v) => typeof v !== 'string'))) {
    throw new MechaError('ERR_MALFORMED_REQUEST', 'metadata must be an object of strings')
  }
  return { operation, ...(data !== undefined ? { data } : {}), ...(metadata !== undefined ? { metadata: metadata as Record<string, string> } : {}) }
}

export const bindingRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/bindings', async () => ({ bindings: await group(ctx.backend).list() }))

  // The same operations as POST /v1.0/bindings/{name}: serial write/request, GPIO read/write/toggle.
  app.post<{ Params: { name: string } }>('/admin/api/bindings/:name/invoke', async (req) => {
    const name = idParam(req.params.name, 'binding name')
    return group(ctx.backend).invoke(name, requestOf(req.body))
  })
}
