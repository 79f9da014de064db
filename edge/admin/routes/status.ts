import type { AdminRoutes } from '../context.ts'
import { sessionAlive } from '../context.ts'
import { sendSse } from '../sse.ts'

export const statusRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/status', async () => ctx.backend.status())

  // Server-Sent Events `status`: {part, status, at} for every change, from the parts' status streams.
  app.get('/admin/api/status/stream', async (req, reply) => {
    await sendSse(req, reply, ctx.backend.statusEvents(), {
      event: 'status', clock: ctx.clock, heartbeatMs: ctx.heartbeatMs, alive: sessionAlive(ctx, req), registry: ctx.streams,
    })
  })
}
