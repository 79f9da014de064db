/**
 * Service invocation routes (docs.dapr.io/reference/api/service_invocation_api): every verb on
 * `/v1.0/invoke/{appId}/method/{method...}`, and the `dapr-app-id` header form (any path outside the Dapr
 * API, e.g. `GET /orders?id=1` with `dapr-app-id: orders`, docs.dapr.io/…/howto-invoke-discover-services).
 * Bodies pass through as bytes, whatever their content type (this plugin's scope parses nothing).
 * A thin adapter over the InvokeService (shared with gRPC), which calls the app on its HTTP or gRPC channel.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppConfig } from '../../core/config/index.ts'
import { MechaError } from '../../core/errors.ts'
import { InvokeService } from '../services/invoke-service.ts'
import type { AppChannels } from './app-channels.ts'

export interface InvokeRouteDeps {
  apps: () => readonly AppConfig[]
  /** The calling app: its `dapr-app-id` on the Dapr path form, else the runtime id. */
  callerIdFor: (req: FastifyRequest) => string
  /** The runtime's id: the caller on the header form, where `dapr-app-id` names the target. */
  runtimeId: string
  /** The largest answer passed back. @default 4 MiB (Dapr's default max body size) */
  maxResponseBytes?: number
  /** App channels shared with subscriptions (gRPC apps); a private set when absent. */
  channels?: AppChannels
  invokeService?: InvokeService
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const
const INVOKE_PATH = /^\/v1\.0\/invoke\/([^/?]+)\/method(\/[^?]*)?(\?.*)?$/
/** Paths of the Dapr API itself: a `dapr-app-id` header there names the caller, not a target. */
const DAPR_API = /^\/(v1\.0|v1\.0-alpha1|v1\.0-beta1|v1\.0-alpha2|dapr)(\/|$|\?)/

export async function invokeRoutes (app: FastifyInstance, deps: InvokeRouteDeps): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => { done(null, body) })
  const svc = deps.invokeService ?? new InvokeService(deps)
  if (deps.invokeService === undefined) app.addHook('onClose', async () => { await svc.close() })
  const find = (id: string): AppConfig => svc.find(id)

  const forward = async (req: FastifyRequest, reply: FastifyReply, target: AppConfig, path: string, callerId: string): Promise<FastifyReply> => {
    const res = await svc.invoke({ appId: callerId }, target.id, {
      verb: req.method,
      path,
      headers: req.headers,
      ...(Buffer.isBuffer(req.body) ? { body: req.body } : {}),
    })
    void reply.status(res.status).headers(res.headers)
    return await reply.send(req.method === 'HEAD' ? undefined : res.body)
  }

  app.route({
    method: [...METHODS],
    url: '/v1.0/invoke/:appId/method/*',
    // HEAD is listed explicitly, so fastify must not add its own for GET.
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      // The raw URL, so the method path and query keep their exact encoding.
      const m = INVOKE_PATH.exec(req.raw.url ?? '')
      if (m === null) throw new MechaError('ERR_MALFORMED_REQUEST', 'expected /v1.0/invoke/{appId}/method/{method}')
      const target = find(decodeURIComponent(m[1]))
      return await forward(req, reply, target, `${m[2] ?? '/'}${m[3] ?? ''}`, deps.callerIdFor(req))
    },
  })

  // Any other path: invocation when it carries dapr-app-id, else the API's usual 404.
  app.route({
    method: [...METHODS],
    url: '/*',
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      const url = req.raw.url ?? '/'
      const id = req.headers['dapr-app-id']
      if (typeof id !== 'string' || id === '' || DAPR_API.test(url)) {
        throw new MechaError('ERR_NOT_FOUND', `no route ${req.method} ${url.split('?')[0]}`)
      }
      return await forward(req, reply, find(id), url, deps.runtimeId)
    },
  })
}
