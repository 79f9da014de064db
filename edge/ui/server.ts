import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { extname } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { systemClock, type Clock } from '../../core/clock.ts'
import { MechaError } from '../../core/errors.ts'
import type { UiSessionConfig, UiTlsConfig } from '../../core/config/types.ts'
import type { Logger } from '../../core/logger.ts'
import { AdminAuth, cookieSession, crossSiteReason, installAdminApi, loadUiTls, type AdminBackend, type UiTlsMaterial } from '../admin/index.ts'
import type { LoginLimiterOptions } from '../admin/auth/login-limiter.ts'
import { isSea, readAsset } from '../native/index.ts'

/** The one thing the UI port needs of the broker: serve an MQTT connection on a stream. */
export interface MqttStreamHandler {
  handle(stream: Duplex, counted?: { bytesRead: number; bytesWritten: number }): void
}

export interface UiServerOptions {
  host: string
  port: number
  log: Logger
  broker: MqttStreamHandler
  version: string
  /** Where the admin password hash, the setup code and the self-signed certificate live (`dataDir`). */
  dataDir: string
  /** The runtime's side of the admin API (edge/admin/backend.ts). */
  backend: AdminBackend
  /**
   * MQTT over WebSocket at /mqtt needs a UI session cookie. The runtime passes `mqtt.users.length === 0`: with
   * broker users configured, the broker's own authentication applies instead (non-browser clients have no cookie).
   */
  requireSessionForMqtt: boolean
  /** `ui.tls`; absent = plain HTTP. */
  tls?: UiTlsConfig
  /** `ui.session` */
  session?: Partial<UiSessionConfig>
  /** @default systemClock */
  clock?: Clock
  /** Tests only: login throttling figures. */
  limiter?: Omit<LoginLimiterOptions, 'clock'>
  /** SSE heartbeat. @default 15000 */
  heartbeatMs?: number
  /** @default 4 MiB */
  maxBodyBytes?: number
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
}

/** The UI makes no requests elsewhere and is never framed (clickjacking); WebSocket to this host only. */
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

/**
 * The UI port: the web UI's files (edge/ui/static, embedded in the executable), the admin API under
 * /admin/api (login required: docs/admin-api.md) and MQTT over WebSocket at /mqtt. HTTPS with `ui.tls`.
 */
export class UiServer {
  readonly app: FastifyInstance
  readonly auth: AdminAuth
  readonly tls: UiTlsMaterial | undefined
  readonly #opts: UiServerOptions
  readonly #wss: WebSocketServer
  readonly #streams = new Set<() => void>()
  #closed = false

  private constructor (app: FastifyInstance, auth: AdminAuth, tls: UiTlsMaterial | undefined, opts: UiServerOptions) {
    this.app = app
    this.auth = auth
    this.tls = tls
    this.#opts = opts
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: 256 * 1024 * 1024,
      // MQTT.js and browsers offer the `mqtt` subprotocol (MQTT 3.1.1 §6); answer with it when offered.
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    })
    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.#upgrade(req, socket, head) })
  }

  static async create (opts: UiServerOptions): Promise<UiServer> {
    const clock = opts.clock ?? systemClock
    await ensureDevBundle(opts.log)
    const tls = await loadUiTls(opts.tls, { dataDir: opts.dataDir, host: opts.host, log: opts.log })
    const auth = await AdminAuth.create({ dataDir: opts.dataDir, log: opts.log, clock, session: opts.session, limiter: opts.limiter })
    const app = Fastify({
      bodyLimit: opts.maxBodyBytes ?? 4 * 1024 * 1024,
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
      forceCloseConnections: true,
      return503OnClosing: true,
      ...(tls === undefined ? {} : { https: { cert: tls.cert, key: tls.key } }),
    }) as unknown as FastifyInstance
    // JSON only (a form post is not a way in); an empty body is allowed, as for POST …/start.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      if (body === '') { done(null, undefined); return }
      try { done(null, JSON.parse(body as string)) } catch (err) {
        done(new MechaError('ERR_MALFORMED_REQUEST', `invalid JSON body: ${(err as Error).message}`), undefined)
      }
    })
    app.addHook('onRequest', async (_req, reply) => {
      void reply.headers({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' })
    })
    const server = new UiServer(app, auth, tls, opts)
    installAdminApi(app, { auth, backend: opts.backend, secure: tls !== undefined, clock, streams: server.#streams, heartbeatMs: opts.heartbeatMs }, opts.log)
    app.get('/*', async (req, reply) => server.#asset(req.url.split('?')[0], reply))
    app.setNotFoundHandler((req, reply) => {
      void reply.status(404).send(new MechaError('ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON())
    })
    await app.ready()
    return server
  }

  get secure (): boolean { return this.tls !== undefined }

  /** A file of the UI; a path without an extension is a client-side route and gets index.html. */
  #asset (path: string, reply: FastifyReply): FastifyReply {
    if (path.startsWith('/admin') || path === '/mqtt') {
      return reply.status(404).send(new MechaError('ERR_NOT_FOUND', `no route GET ${path}`).toJSON())
    }
    let name = path === '/' ? 'index.html' : decodeURIComponentSafe(path.slice(1))
    let body = name === undefined ? undefined : readAsset(`ui/${name}`)
    if (body === undefined && name !== undefined && extname(name) === '') { name = 'index.html'; body = readAsset('ui/index.html') }
    if (body === undefined || name === undefined) return reply.status(404).send(new MechaError('ERR_NOT_FOUND', `no file ${path}`).toJSON())
    const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream'
    void reply.header('content-type', type).header('cache-control', name === 'index.html' ? 'no-store' : 'no-cache')
    if (type.startsWith('text/html')) void reply.header('content-security-policy', CSP)
    return reply.send(body)
  }

  #upgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if ((req.url ?? '').split('?')[0] !== '/mqtt') { refuse(socket, 404, 'ERR_NOT_FOUND', 'WebSocket is served at /mqtt only'); return }
    if (this.#opts.requireSessionForMqtt) {
      // A browser page elsewhere must not ride the admin's cookie into the broker (cross-site WebSocket hijacking).
      const reason = crossSiteReason(req.headers, this.secure)
      if (reason !== undefined) { refuse(socket, 403, 'MECHA_ERR_UI_CSRF', `cross-site WebSocket refused: ${reason}`); return }
      if (cookieSession(this.auth, req.headers, this.secure) === undefined) {
        refuse(socket, 401, 'MECHA_ERR_UI_AUTH', 'MQTT over WebSocket needs a UI session (log in first), or broker users configured')
        return
      }
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws)
      stream.on('error', () => { ws.terminate() })
      this.#opts.broker.handle(stream, socket as unknown as { bytesRead: number; bytesWritten: number })
    })
  }

  async listen (): Promise<{ host: string; port: number }> {
    try {
      await this.app.listen({ host: this.#opts.host, port: this.#opts.port })
    } catch (err) {
      throw new MechaError('MECHA_ERR_LISTEN', `UI cannot listen on ${this.#opts.host}:${this.#opts.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
    }
    const a = this.address!
    this.#opts.log.info({ url: `${this.secure ? 'https' : 'http'}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/`, fingerprint256: this.tls?.fingerprint256 }, 'UI and admin API listening')
    return a
  }

  get address (): { host: string; port: number } | undefined {
    const a = this.app.server.address()
    return a != null && typeof a === 'object' ? { host: a.address, port: a.port } : undefined
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const end of [...this.#streams]) end()
    for (const ws of this.#wss.clients) ws.terminate()
    this.#wss.close()
    await this.app.close()
    this.auth.close()
  }
}

/**
 * From source (`npm start`, tests) the UI's bundle is made at start when it is missing or stale
 * (edge/ui/dev-bundle.ts, esbuild). Inside the executable, and from `dist/bundle.cjs`, the build made it: the
 * import is by a computed URL so the runtime's bundler never pulls esbuild in.
 */
async function ensureDevBundle (log: Logger): Promise<void> {
  if (isSea() || import.meta.url.endsWith('.cjs') || process.env.MECHA_UI_DEV_BUNDLE === '0') return
  const url = new URL('./dev-bundle.ts', import.meta.url).href
  let mod: typeof import('./dev-bundle.ts')
  try {
    mod = await import(url) as typeof import('./dev-bundle.ts')
  } catch (err) {
    // No esbuild (installed without dev dependencies): serve whatever bundle there is; the admin API works.
    log.warn({ err: (err as Error).message }, 'web UI bundler not available; serving edge/ui/static as it is')
    return
  }
  await mod.ensureUiBundle(log)
}

function decodeURIComponentSafe (s: string): string | undefined {
  try { return decodeURIComponent(s) } catch { return undefined }
}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }

/** Answers a refused upgrade with a plain HTTP response and the usual error body, then closes the socket. */
function refuse (socket: Duplex, status: number, errorCode: string, message: string): void {
  const body = JSON.stringify({ errorCode, message })
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}
