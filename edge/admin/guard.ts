import type { FastifyInstance, FastifyRequest } from 'fastify'
import { MechaError } from '../../core/errors.ts'
import type { AdminAuth } from './auth/admin-auth.ts'
import { readCookie, sessionCookieName } from './auth/cookies.ts'
import { crossSiteReason, UNSAFE_METHODS } from './auth/same-origin.ts'
import { sameToken, type Session } from './auth/sessions.ts'

export const ADMIN_PREFIX = '/admin/'
/** The only admin route that answers without a session. */
export const LOGIN_PATH = '/admin/api/login'

const sessions = new WeakMap<FastifyRequest, Session>()

/** The session of a request that passed the guard (every admin route but login). */
export function sessionOf (req: FastifyRequest): Session {
  const s = sessions.get(req)
  if (s === undefined) throw new TypeError('sessionOf called on a request the admin guard did not admit')
  return s
}

/** The session named by a request's cookie, if it is live (no CSRF check: for reads and the WebSocket upgrade). */
export function cookieSession (auth: AdminAuth, headers: FastifyRequest['headers'], secure: boolean, touch = true): Session | undefined {
  return auth.sessions.get(readCookie(headers.cookie, sessionCookieName(secure)), touch)
}

/**
 * Runs before the body is read, on every request under /admin/ (unknown paths too, so nothing there answers
 * without a session): state-changing requests must come from this origin (Fetch Metadata / Origin), every
 * request but the login needs a live session, and state-changing ones its CSRF token in `x-csrf-token`.
 */
export function installGuard (app: FastifyInstance, auth: AdminAuth, secure: boolean): void {
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]
    if (!path.startsWith(ADMIN_PREFIX) && path !== '/admin') return
    const unsafe = UNSAFE_METHODS.has(req.method)
    if (unsafe) {
      const reason = crossSiteReason(req.headers, secure)
      if (reason !== undefined) throw new MechaError('MECHA_ERR_UI_CSRF', `cross-site request refused: ${reason}`)
    }
    if (path === LOGIN_PATH) return
    const session = cookieSession(auth, req.headers, secure)
    if (session === undefined) {
      if (await auth.setupRequired()) throw new MechaError('MECHA_ERR_UI_SETUP_REQUIRED')
      throw new MechaError('MECHA_ERR_UI_AUTH', 'login required (no session, or it expired)')
    }
    if (unsafe && !sameToken(headerValue(req.headers['x-csrf-token']), session.csrfToken)) {
      throw new MechaError('MECHA_ERR_UI_CSRF', 'x-csrf-token missing or wrong (GET /admin/api/session returns it)')
    }
    sessions.set(req, session)
  })
}

function headerValue (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}
