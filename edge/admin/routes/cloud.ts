import type { AdminRoutes } from '../context.ts'

export const cloudRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/cloud', async () => ctx.backend.cloud())
}
