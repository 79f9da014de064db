import type { IncomingHttpHeaders } from 'node:http'

/**
 * Whether a request comes from a page of this very server. Browsers send `Sec-Fetch-Site` (Fetch Metadata) and
 * `Origin` on every state-changing request, so a cross-site form or fetch is recognised before its body is
 * read; clients that send neither (curl, scripts) are not browsers and still need the CSRF token.
 * (OWASP CSRF Prevention Cheat Sheet: "Fetch Metadata" and "Verifying Origin With Standard Headers".)
 */
export function crossSiteReason (headers: IncomingHttpHeaders, secure: boolean): string | undefined {
  const site = headers['sec-fetch-site']
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site}`
  const origin = headers.origin
  if (typeof origin === 'string') {
    const host = headers.host
    if (host === undefined) return 'Origin without Host'
    const expected = `${secure ? 'https' : 'http'}://${host.toLowerCase()}`
    if (origin.toLowerCase() !== expected) return `Origin ${origin} is not ${expected}`
  }
  return undefined
}

export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
