import type { AdminRoutes } from '../context.ts'
import { idParam } from './params.ts'

export const mqttRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/mqtt/clients', async () => ({ clients: await ctx.backend.mqtt.clients() }))

  // Client ids may hold any character: the client sends it URL-encoded; fastify decodes the parameter.
  app.post<{ Params: { id: string } }>('/admin/api/mqtt/clients/:id/disconnect', async (req, reply) => {
    await ctx.backend.mqtt.disconnect(idParam(req.params.id, 'client id'))
    return reply.status(204).send()
  })
}
