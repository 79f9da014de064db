/**
 * The session cookie (RFC 6265). `HttpOnly` keeps it from scripts, `SameSite=Strict` from cross-site requests;
 * over HTTPS it is `Secure` and takes the `__Host-` prefix (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain),
 * so no other host or plain-HTTP page can plant one.
 */
export function sessionCookieName (secure: boolean): string {
  return secure ? '__Host-mecha_session' : 'mecha_session'
}

export function serializeSessionCookie (value: string, opts: { secure: boolean; maxAgeSeconds: number }): string {
  const parts = [`${sessionCookieName(opts.secure)}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`]
  if (opts.secure) parts.push('Secure')
  return parts.join('; ')
}

export function clearSessionCookie (secure: boolean): string {
  return serializeSessionCookie('', { secure, maxAgeSeconds: 0 })
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie (header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header
  if (text === undefined) return undefined
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
  }
  return undefined
}
