import { MechaError } from '../../../core/errors.ts'
import type { AdminRoutes } from '../context.ts'

export const cloudRoutes: AdminRoutes = (app, ctx) => {
  app.get('/admin/api/cloud', async () => ctx.backend.cloud())

  // "Test connection": connects with the edited (unsaved) cloud section and says what the broker answered.
  app.post<{ Body: { cloud?: unknown } }>('/admin/api/cloud/test', async (req) => {
    const test = ctx.backend.cloudActions?.test
    if (test === undefined) throw new MechaError('ERR_NOT_FOUND', 'cloud connection tests are not available')
    return await test(req.body?.cloud)
  })

  // "Drop queued messages" (the UI asks for confirmation first): counted in the ledger as dropped.admin.
  app.post('/admin/api/cloud/outbox/drop', async () => {
    const drop = ctx.backend.cloudActions?.dropQueued
    if (drop === undefined) throw new MechaError('ERR_NOT_FOUND', 'no cloud link is configured')
    return { dropped: await drop() }
  })
}
