/**
 * HTTP calls from the runtime to a local app (event delivery, `/dapr/subscribe`, service invocation), with
 * a deadline and outcomes that tell "nobody listens" (the app is down: pause, do not burn retries) from
 * "it failed" and "it hung". node:http with a keep-alive agent: one socket per app reused call after call.
 */
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'

export interface AppCall {
  host: string
  port: number
  method: string
  /** Path and query string, starting with `/`. */
  path: string
  headers?: OutgoingHttpHeaders
  body?: Buffer | string
  timeoutMs: number
  /** Responses larger than this are cut off and reported as an error (a garbage answer must not fill memory). */
  maxResponseBytes?: number
  signal?: AbortSignal
}

export type AppCallResult =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  /** Connection refused or the host unreachable: the app is not up. */
  | { kind: 'unreachable'; message: string }
  | { kind: 'timeout'; message: string }
  /** Reset mid-request, a response too large, aborted, … `staleSocket`: it failed on a reused keep-alive
   *  socket the app had already closed, so the request never reached it. */
  | { kind: 'error'; message: string; staleSocket?: boolean }

const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 60_000 })
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND'])

export function callApp (call: AppCall): Promise<AppCallResult> {
  const max = call.maxResponseBytes ?? 4 * 1024 * 1024
  return new Promise((resolve) => {
    let settled = false
    const done = (r: AppCallResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      call.signal?.removeEventListener('abort', onAbort)
      resolve(r)
    }
    const headers: OutgoingHttpHeaders = { ...call.headers }
    if (call.body !== undefined) headers['content-length'] = Buffer.byteLength(call.body)
    const req = request({ host: call.host, port: call.port, method: call.method, path: call.path, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > max) { req.destroy(); done({ kind: 'error', message: `the app answered more than ${max} bytes` }); return }
        chunks.push(c)
      })
      res.on('end', () => { done({ kind: 'response', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
      res.on('error', (err) => { done({ kind: 'error', message: err.message }) })
    })
    const timer = setTimeout(() => {
      req.destroy()
      done({ kind: 'timeout', message: `the app did not answer within ${call.timeoutMs} ms` })
    }, call.timeoutMs)
    const onAbort = (): void => { req.destroy(); done({ kind: 'error', message: 'aborted' }) }
    call.signal?.addEventListener('abort', onAbort, { once: true })
    if (call.signal?.aborted === true) onAbort()
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (UNREACHABLE.has(err.code ?? '')) done({ kind: 'unreachable', message: `${err.code} ${call.host}:${call.port}` })
      else done({ kind: 'error', message: err.code ?? err.message, staleSocket: req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') })
    })
    req.end(call.body)
  })
}
