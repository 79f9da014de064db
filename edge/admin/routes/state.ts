import type { FastifyRequest } from 'fastify'
import { MechaError } from '../../../core/errors.ts'
import type { AdminBackend } from '../backend.ts'
import type { AdminRoutes } from '../context.ts'
import { idParam } from './params.ts'

const MAX_PAGE_SIZE = 500
const DEFAULT_PAGE_SIZE = 50

type StateGroup = NonNullable<AdminBackend['state']>

/** The web UI's State page: the browser only talks to the UI port, so the Dapr API's state calls are mirrored here. */
function group (backend: AdminBackend): StateGroup {
  if (backend.state === undefined) throw new MechaError('ERR_NOT_FOUND', 'state browsing is not available in this runtime')
  return backend.state
}

function intParam (value: unknown, name: string, dflt: number, min: number, max: number): number {
  if (value === undefined || value === '') return dflt
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new MechaError('ERR_MALFORMED_REQUEST', `${name} must be an integer ${min}-${max}`)
  return n
}

/** `If-Match: "<etag>"` (quotes optional, as Dapr's ETags are bare); absent = last write wins. */
function ifMatch (req: FastifyRequest): string | undefined {
  const h = req.headers['if-match']
  if (h === undefined || h === '' || h === '*') return undefined
  const v = Array.isArray(h) ? h[0]! : h
  return v.replace(/^W\//, '').replace(/^"(.*)"$/, '$1')
}

export const stateRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/state', async () => ({ stores: await group(ctx.backend).stores() }))

  // `?prefix=…&page=N&pageSize=M`: keys in key order, a page at a time; `more` says whether a next page has any.
  app.get<{ Params: { store: string }; Querystring: { prefix?: string; page?: string; pageSize?: string } }>('/admin/api/state/:store', async (req) => {
    const store = idParam(req.params.store, 'store name')
    const prefix = typeof req.query.prefix === 'string' ? req.query.prefix : ''
    const page = intParam(req.query.page, 'page', 0, 0, 1_000_000)
    const pageSize = intParam(req.query.pageSize, 'pageSize', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    const r = await group(ctx.backend).keys(store, { prefix, page, pageSize })
    return { store, prefix, page, pageSize, keys: r.keys, more: r.more }
  })

  // Keys may hold `/` and any other character: the client sends them URL-encoded.
  app.get<{ Params: { store: string; key: string } }>('/admin/api/state/:store/:key', async (req, reply) => {
    const store = idParam(req.params.store, 'store name')
    const key = idParam(req.params.key, 'key')
    const item = await group(ctx.backend).get(store, key)
    if (item === undefined) throw new MechaError('ERR_NOT_FOUND', `no value for key ${JSON.stringify(key)} in ${store}`)
    void reply.header('etag', `"${item.etag}"`).header('cache-control', 'no-store')
    return { key, value: item.value, etag: item.etag }
  })

  // Body `{value}`; `If-Match` (or `etag` in the body) makes it a checked write: a stale ETag is 409 ERR_ETAG_MISMATCH.
  app.put<{ Params: { store: string; key: string } }>('/admin/api/state/:store/:key', async (req) => {
    const store = idParam(req.params.store, 'store name')
    const key = idParam(req.params.key, 'key')
    const body = req.body as { value?: unknown; etag?: unknown } | undefined
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !('value' in body) || body.value === undefined) {
      throw new MechaError('ERR_MALFORMED_REQUEST', 'the body must be {"value": …}')
    }
    if (body.etag !== undefined && typeof body.etag !== 'string') throw new MechaError('ERR_MALFORMED_ETAG', 'etag must be a string')
    const etag = ifMatch(req) ?? (body.etag as string | undefined)
    return { key, etag: (await group(ctx.backend).set(store, key, body.value, etag)).etag }
  })

  app.delete<{ Params: { store: string; key: string } }>('/admin/api/state/:store/:key', async (req, reply) => {
    const store = idParam(req.params.store, 'store name')
    const key = idParam(req.params.key, 'key')
    await group(ctx.backend).delete(store, key, ifMatch(req))
    return reply.status(204).send()
  })
}
