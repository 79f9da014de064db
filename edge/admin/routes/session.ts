import type { FastifyReply } from 'fastify'
import { clearSessionCookie, readCookie, serializeSessionCookie, sessionCookieName } from '../auth/cookies.ts'
import type { Session } from '../auth/sessions.ts'
import type { AdminContext, AdminRoutes } from '../context.ts'
import { LOGIN_PATH, sessionOf } from '../guard.ts'

/** What login and `GET /admin/api/session` answer: the CSRF token the client sends back, and when the session ends. */
function sessionBody (ctx: AdminContext, s: Session): Record<string, unknown> {
  const { expiresAt, idleExpiresAt } = ctx.auth.sessions.expiry(s)
  return {
    authenticated: true,
    csrfToken: s.csrfToken,
    expiresAt: new Date(expiresAt).toISOString(),
    idleExpiresAt: new Date(idleExpiresAt).toISOString(),
    idleTimeoutSeconds: ctx.auth.sessions.idleMs / 1000,
  }
}

function noStore (reply: FastifyReply): void { void reply.header('cache-control', 'no-store') }

export const sessionRoutes: AdminRoutes = (app, ctx) => {
  // Login: {setupCode, newPassword} while no password is set, {password} after. The only route without a session.
  app.post(LOGIN_PATH, async (req, reply) => {
    const previous = readCookie(req.headers.cookie, sessionCookieName(ctx.secure))
    const s = await ctx.auth.login(req.body, req.ip)
    if (previous !== undefined) ctx.auth.sessions.delete(previous)
    noStore(reply)
    void reply.header('set-cookie', serializeSessionCookie(s.id, { secure: ctx.secure, maxAgeSeconds: ctx.auth.sessions.maxAgeMs / 1000 }))
    return sessionBody(ctx, s)
  })

  app.get('/admin/api/session', async (req, reply) => {
    noStore(reply)
    return sessionBody(ctx, sessionOf(req))
  })

  app.post('/admin/api/logout', async (req, reply) => {
    ctx.auth.logout(sessionOf(req))
    void reply.header('set-cookie', clearSessionCookie(ctx.secure))
    return reply.status(204).send()
  })

  // {currentPassword, newPassword}; every other session ends, this one stays.
  app.post('/admin/api/password', async (req, reply) => {
    await ctx.auth.changePassword(sessionOf(req), req.body, req.ip)
    return reply.status(204).send()
  })
}
