/**
 * A subscriber app for tests: a plain node:http server on 127.0.0.1 that records every request and answers
 * per path with a programmable handler (status, body, delay, or a dropped connection).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Request { method: string; path: string; url: string; headers: IncomingHttpHeaders; body: Buffer; json: any }
export interface Answer { status?: number; body?: string | object; delayMs?: number; headers?: Record<string, string>; destroy?: boolean }
export type Handler = (req: Request) => Answer | Promise<Answer>

/** A free loopback port (listen on 0, close), for an app that must be restarted on the same port. */
export async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => { resolve() }))
  return port
}

export class TestApp {
  readonly requests: Request[] = []
  readonly handlers = new Map<string, Handler>()
  /** The answer to GET /dapr/subscribe; undefined answers 404 (no programmatic subscriptions). */
  subscribe: unknown
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  port = 0

  private constructor () {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        let json: any
        try { json = body.length > 0 ? JSON.parse(body.toString()) : undefined } catch {}
        const url = req.url ?? '/'
        const r: Request = { method: req.method ?? 'GET', path: url.split('?')[0], url, headers: req.headers, body, json }
        if (r.method === 'GET' && r.path === '/dapr/subscribe') {
          if (this.subscribe === undefined) { res.writeHead(404).end(); return }
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.subscribe))
          return
        }
        this.requests.push(r)
        const h: Handler = this.handlers.get(r.path) ?? this.handlers.get('*') ?? (() => ({}))
        void Promise.resolve(h(r)).then(async (a: Answer) => {
          if (a.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, a.delayMs).unref())
          if (a.destroy === true) { req.socket.destroy(); return }
          const text = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body)
          if (!res.destroyed) res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers }).end(text)
        })
      })
    })
    this.#server.on('connection', (s: Socket) => { this.#sockets.add(s); s.once('close', () => this.#sockets.delete(s)) })
  }

  static async start (port = 0): Promise<TestApp> {
    const app = new TestApp()
    await new Promise<void>((resolve, reject) => { app.#server.once('error', reject); app.#server.listen(port, '127.0.0.1', () => { resolve() }) })
    app.port = (app.#server.address() as AddressInfo).port
    return app
  }

  on (path: string, h: Handler): this { this.handlers.set(path, h); return this }

  /** Requests to one path. */
  at (path: string): Request[] { return this.requests.filter((r) => r.path === path) }

  /** Waits until `pred` holds (polling), or fails after `timeoutMs`. */
  async waitFor (pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const until = Date.now() + timeoutMs
    while (!pred()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what} (${this.requests.length} requests so far)`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Stops listening and cuts every connection (an app that went away). Idempotent. */
  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
  }
}

export async function waitUntil (pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
