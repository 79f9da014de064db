import Fastify, { type FastifyInstance } from 'fastify'
import { MechaError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import { installErrorHandling } from './errors.ts'
import { installTokenCheck } from './token.ts'

export interface ApiServerOptions {
  host: string
  port: number
  token?: string
  maxBodyBytes: number
  log: Logger
  /** Per-app API tokens of supervised apps (token → app id), accepted beside `token`. */
  appTokens?: ReadonlyMap<string, string>
}

const rawBodies = new WeakMap<object, Buffer>()

/** The exact bytes of a JSON request body (JSON bodies reach handlers parsed). */
export function rawJsonBody (req: { raw?: unknown } & object): Buffer | undefined {
  return rawBodies.get(req)
}

export type RoutePlugin = (app: FastifyInstance) => Promise<void> | void

/**
 * The Dapr-compatible HTTP API: fastify with Dapr's error bodies and token check. Routes come in as plugins
 * (state, pub/sub, invoke, … each in its own file) so this file stays the same as building blocks are added.
 */
export class ApiServer {
  readonly app: FastifyInstance
  readonly #opts: ApiServerOptions
  #token: string | undefined
  #closed = false

  private constructor (app: FastifyInstance, opts: ApiServerOptions) {
    this.app = app
    this.#opts = opts
    this.#token = opts.token
  }

  /** A hot reload changed `api.token`: every later request is checked against the new one. */
  setToken (token: string | undefined): void { this.#token = token }

  static async create (opts: ApiServerOptions, routes: RoutePlugin[]): Promise<ApiServer> {
    const app = Fastify({
      bodyLimit: opts.maxBodyBytes,
      // Dapr paths carry keys and topics verbatim; do not let a trailing slash or case make a different route.
      routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
      forceCloseConnections: true,
      return503OnClosing: true,
    })
    // Bodies of any type arrive as a Buffer (publish, invoke and bindings pass them through verbatim);
    // JSON keeps fastify's parser, and an empty JSON body is allowed (Dapr clients send them).
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => { done(null, body) })
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
      const buf = body as Buffer
      // Kept so pass-through routes (publish with rawPayload, invoke) forward the exact bytes, not a re-serialisation.
      rawBodies.set(req, buf)
      if (buf.length === 0) { done(null, undefined); return }
      try { done(null, JSON.parse(buf.toString('utf8'))) } catch (err) {
        done(new MechaError('ERR_MALFORMED_REQUEST', `invalid JSON body: ${(err as Error).message}`), undefined)
      }
    })
    installErrorHandling(app, opts.log)
    let self: ApiServer | undefined
    installTokenCheck(app, () => self === undefined ? opts.token : self.#token, opts.appTokens)
    for (const route of routes) await app.register(async (scope) => { await route(scope) })
    self = new ApiServer(app, opts)
    return self
  }

  async listen (): Promise<{ host: string; port: number }> {
    try {
      await this.app.listen({ host: this.#opts.host, port: this.#opts.port })
    } catch (err) {
      throw new MechaError('MECHA_ERR_LISTEN', `API cannot listen on ${this.#opts.host}:${this.#opts.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
    }
    return this.address!
  }

  get address (): { host: string; port: number } | undefined {
    const a = this.app.server.address()
    return a != null && typeof a === 'object' ? { host: a.address, port: a.port } : undefined
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.app.close()
  }
}
