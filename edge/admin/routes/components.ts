import type { AdminRoutes } from '../context.ts'

/** The documents of a request: `{components: [...]}` or a bare array. */
function docsOf (body: unknown): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && 'components' in body ? (body as { components: unknown }).components : body
}

export const componentRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/components', async () => ({ components: await ctx.backend.components.list() }))

  app.post('/admin/api/components/validate', async (req) => {
    const problems = await ctx.backend.components.validate(docsOf(req.body))
    return { valid: problems.length === 0, problems }
  })

  // Refused with 400 MECHA_ERR_CONFIG_INVALID and every problem with its path.
  app.post('/admin/api/components/apply', async (req) => ctx.backend.components.apply(docsOf(req.body)))
}
