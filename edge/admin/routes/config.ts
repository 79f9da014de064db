import type { AdminRoutes } from '../context.ts'

export const configRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/config', async (_req, reply) => {
    void reply.header('cache-control', 'no-store')
    return ctx.backend.config.get()
  })

  app.post('/admin/api/config/validate', async (req) => {
    const problems = await ctx.backend.config.validate(req.body)
    return { valid: problems.length === 0, problems }
  })

  // The backend validates, writes atomically, keeps the previous version and hot-reloads; a refusal is 400
  // MECHA_ERR_CONFIG_INVALID with `problems: [{path, message}]` and changes nothing.
  app.post('/admin/api/config/apply', async (req) => ctx.backend.config.apply(req.body))

  app.post('/admin/api/config/rollback', async () => ctx.backend.config.rollback())
}
