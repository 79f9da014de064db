import type { AdminRoutes } from '../context.ts'
import { sessionAlive } from '../context.ts'
import { sendSse } from '../sse.ts'
import { flagParam, idParam, linesParam } from './params.ts'

const MAX_LINES = 10_000
const ACTIONS = ['start', 'stop', 'restart'] as const

export const appRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/apps', async () => ({ apps: await ctx.backend.apps.list() }))

  for (const action of ACTIONS) {
    app.post<{ Params: { id: string } }>(`/admin/api/apps/:id/${action}`, async (req, reply) => {
      await ctx.backend.apps[action](idParam(req.params.id, 'app id'))
      return reply.status(204).send()
    })
  }

  // `?lines=N` (default 200) as JSON; with `?follow=1` those lines and then every new one as SSE `log` events.
  app.get<{ Params: { id: string }; Querystring: { lines?: string; follow?: string } }>('/admin/api/apps/:id/logs', async (req, reply) => {
    const id = idParam(req.params.id, 'app id')
    const lines = linesParam(req.query.lines, 200, MAX_LINES)
    if (!flagParam(req.query.follow)) return { id, lines: await ctx.backend.apps.logs(id, lines) }
    // Resolve the app first so an unknown id is a 404 body, not an SSE stream that ends at once.
    await ctx.backend.apps.logs(id, 1)
    await sendSse(req, reply, ctx.backend.apps.followLogs(id, lines), {
      event: 'log', clock: ctx.clock, heartbeatMs: ctx.heartbeatMs, alive: sessionAlive(ctx, req), registry: ctx.streams,
    })
  })
}
