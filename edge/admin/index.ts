import type { FastifyInstance } from 'fastify'
import type { Logger } from '../../core/logger.ts'
import type { AdminContext } from './context.ts'
import { installAdminErrors } from './errors.ts'
import { installGuard } from './guard.ts'
import { ADMIN_ROUTES } from './routes/index.ts'

export type { AdminBackend, AdminStatus, AdminStatusEvent, AdminApp, AdminLogLine, AdminComponent, AdminConfigView, AdminApplyResult, AdminCloud, AdminMqttClient, PartStatus } from './backend.ts'
export { AdminAuth, MIN_PASSWORD_LENGTH, type AdminAuthOptions } from './auth/admin-auth.ts'
export { adminHashPath, readAdminHash, writeAdminHash } from './auth/password-file.ts'
export { setupCodePath } from './auth/setup-code.ts'
export { sessionCookieName } from './auth/cookies.ts'
export { cookieSession } from './guard.ts'
export { crossSiteReason } from './auth/same-origin.ts'
export { loadUiTls, selfSignedPaths, type UiTlsMaterial } from './tls/ui-tls.ts'
export type { AdminContext } from './context.ts'

/** The admin API on a fastify instance: error bodies, the session/CSRF guard, then every route file. */
export function installAdminApi (app: FastifyInstance, ctx: AdminContext, log: Logger): void {
  installAdminErrors(app, log)
  installGuard(app, ctx.auth, ctx.secure)
  for (const routes of ADMIN_ROUTES) routes(app, ctx)
}
