/**
 * The admin API from the browser (docs/admin-api.md): same-origin JSON, the session cookie sent by the browser,
 * the CSRF token in `x-csrf-token` on every state-changing request. A 401 from any call ends the session in the
 * UI: the sign-in form shows and, after it, the page the person was on (its URL never changed).
 */

export interface Problem { path: string; message: string }

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly problems: Problem[]
  constructor (status: number, code: string, message: string, problems: Problem[] = []) {
    super(message)
    this.status = status
    this.code = code
    this.problems = problems
  }
}

let csrfToken = ''
let onUnauthorized: (code: string) => void = () => {}

export function setCsrfToken (token: string): void { csrfToken = token }
export function onSessionLost (fn: (code: string) => void): void { onUnauthorized = fn }

export interface CallOptions { headers?: Record<string, string>; /** Do not end the session on 401 (login). */ quiet401?: boolean }

export async function api<T = any> (method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken
  let res: Response
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the gateway did not answer (${(err as Error).message})`)
  }
  const text = await res.text()
  let data: any
  try { data = text === '' ? undefined : JSON.parse(text) } catch { data = undefined }
  if (!res.ok) {
    const code = typeof data?.errorCode === 'string' ? data.errorCode : `HTTP_${res.status}`
    const message = typeof data?.message === 'string' ? data.message : `${res.status} ${res.statusText}`
    const err = new ApiError(res.status, code, message, Array.isArray(data?.problems) ? data.problems : [])
    if (res.status === 401 && opts.quiet401 !== true) onUnauthorized(code)
    throw err
  }
  return data as T
}

export const get = <T = any>(path: string): Promise<T> => api<T>('GET', path)
export const post = <T = any>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body)

/** Problems whose path is `path` or lies under it (`components[0].spec.metadata.path` under `spec.metadata.path`). */
export function problemAt (problems: Problem[], ...paths: string[]): string | undefined {
  const hit = problems.filter((p) => paths.some((want) => p.path === want || p.path.endsWith(`.${want}`) || p.path.startsWith(`${want}.`) || p.path.startsWith(`${want}[`)))
  return hit.length === 0 ? undefined : hit.map((p) => p.message).join('; ')
}

/** An SSE stream of one event name, JSON-parsed; returns the function that closes it. */
export function stream (path: string, event: string, onData: (d: any) => void, onError?: () => void): () => void {
  const es = new EventSource(path, { withCredentials: true })
  es.addEventListener(event, (e) => {
    try { onData(JSON.parse((e as MessageEvent).data)) } catch { /* a malformed frame is skipped */ }
  })
  es.onerror = () => {
    onError?.()
    // A stream refused with 401 (session over) closes for good: ask the API whether the session still lives.
    if (es.readyState === EventSource.CLOSED) void get('/admin/api/session').catch(() => {})
  }
  return () => { es.close() }
}
