/**
 * The Dapr-compatible gRPC API (`dapr.proto.runtime.v1.Dapr`, default 127.0.0.1:50001, `api.grpcPort`), beside
 * the HTTP one and over the same services. As Dapr: `dapr-api-token` metadata is required on every method
 * when a token is set; a supervised app's own token (token → app id) is accepted too and names the caller,
 * else `dapr-app-id` metadata, else the runtime id. Bad input — a malformed message, an oversized one, an
 * unknown store — is answered with a status and Dapr's code in the message; nothing is written and the server
 * serves on. Methods not in edge/grpc/proto/methods.ts answer UNIMPLEMENTED (gRPC does that itself).
 * @grpc/grpc-js is imported when `create` runs, never before (CONVENTIONS 13).
 */
import { timingSafeEqual } from 'node:crypto'
import type * as GrpcJs from '@grpc/grpc-js'
import { MechaError } from '../../core/errors.ts'
import type { Logger } from '../../core/logger.ts'
import type { Caller } from '../services/caller.ts'
import { daprMethods, GrpcStatusError, type DaprServices } from './dapr-methods.ts'
import { loadGrpc, type Grpc } from './load.ts'
import { toServiceError } from './status.ts'

export interface GrpcServerOptions {
  host: string
  /** 0 picks a free port. */
  port: number
  token?: string
  /** Per-app API tokens of supervised apps (token → app id), accepted beside `token`. */
  appTokens?: ReadonlyMap<string, string>
  /** The caller when neither an app token nor `dapr-app-id` says. */
  runtimeId: string | (() => string)
  /** The largest message taken or sent. @default 4 MiB (Dapr's default `--max-body-size`) */
  maxMessageBytes?: number
  log: Logger
  services: DaprServices
}

const MALFORMED = Symbol('malformed')
const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b)

/**
 * grpc-js answers a message over `grpc.max_receive_message_length` itself (RESOURCE_EXHAUSTED, "Received message
 * larger than max …"), from the base call, below every interceptor's listener. This interceptor is handed that
 * base call (it is the only one) and wraps its `sendStatus`, so that refusal carries ERR_BODY_TOO_LARGE in the
 * message and the ErrorInfo details like every other error. Every other status passes unchanged.
 */
function tooLargeInterceptor (grpc: Grpc, max: number): GrpcJs.ServerInterceptor {
  return (_method, call) => {
    const send = call.sendStatus.bind(call)
    call.sendStatus = (status) => {
      if (status.code === grpc.status.RESOURCE_EXHAUSTED && /^Received message (larger than max|that decompresses to a size larger than)/.test(status.details)) {
        const size = /\((\d+) vs/.exec(status.details)?.[1]
        status = toServiceError(grpc, new MechaError('ERR_BODY_TOO_LARGE', `the message is ${size ?? 'more than ' + max} bytes; the API takes at most ${max}`))
      }
      send(status)
    }
    // Typed as the ServerInterceptingCall class; grpc-js only needs the interface it implements.
    return call as GrpcJs.ServerInterceptingCall
  }
}

export class GrpcServer {
  readonly #grpc: Grpc
  readonly #server: GrpcJs.Server
  readonly #opts: GrpcServerOptions
  #token: string | undefined
  #port: number | undefined
  #closed = false

  private constructor (grpc: Grpc, server: GrpcJs.Server, opts: GrpcServerOptions) {
    this.#grpc = grpc
    this.#server = server
    this.#opts = opts
    this.#token = opts.token
  }

  /** A hot reload changed `api.token`: every later call is checked against the new one. */
  setToken (token: string | undefined): void { this.#token = token }

  static async create (opts: GrpcServerOptions): Promise<GrpcServer> {
    const { grpc, v1 } = await loadGrpc()
    const max = opts.maxMessageBytes ?? 4 * 1024 * 1024
    // grpc-js refuses a message over the limit from its 5-byte length prefix, before buffering it; the
    // interceptor gives that refusal Dapr's code (ERR_BODY_TOO_LARGE) instead of grpc-js's bare text.
    const server = new grpc.Server({ 'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max, interceptors: [tooLargeInterceptor(grpc, max)] })
    const self = new GrpcServer(grpc, server, opts)
    const methods = daprMethods(opts.services) as Record<string, (req: any, caller: Caller, headers: Record<string, string>) => Promise<unknown>>
    const definition: Record<string, GrpcJs.MethodDefinition<any, any>> = {}
    const impl: GrpcJs.UntypedServiceImplementation = {}
    for (const [name, def] of Object.entries(v1.Dapr.service)) {
      const decode = def.requestDeserialize
      definition[name] = {
        ...def,
        // A message that does not decode, or is over the limit, reaches the handler as a marker: the call is
        // answered with Dapr's code instead of grpc-js's bare INTERNAL.
        requestDeserialize: (buf: Buffer) => {
          if (buf.length > max) return { [MALFORMED]: new MechaError('ERR_BODY_TOO_LARGE', `the message is ${buf.length} bytes; the API takes at most ${max}`) }
          try { return decode(buf) } catch (err) { return { [MALFORMED]: new MechaError('ERR_MALFORMED_REQUEST', `the message cannot be decoded: ${(err as Error).message}`) } }
        },
      }
      const handler = methods[name]
      if (def.requestStream || def.responseStream) {
        // Not served; the token is still checked first, so without it every method answers UNAUTHENTICATED.
        impl[name] = (call: GrpcJs.ServerDuplexStream<unknown, unknown>) => {
          let err: object = { code: grpc.status.UNIMPLEMENTED, details: `${name} is not implemented` }
          try { self.#authorize(self.#headers(call.metadata)) } catch (e) { err = self.#error(e, name) }
          call.emit('error', err)
        }
        continue
      }
      impl[name] = (call: GrpcJs.ServerUnaryCall<any, unknown>, callback: GrpcJs.sendUnaryData<unknown>) => {
        self.#unary(name, call, handler).then((res) => { callback(null, res) }, (err) => { callback(self.#error(err, name) as GrpcJs.ServiceError) })
      }
    }
    server.addService(definition as GrpcJs.ServiceDefinition, impl)
    return self
  }

  async #unary (name: string, call: GrpcJs.ServerUnaryCall<any, unknown>, handler: ((req: any, caller: Caller, headers: Record<string, string>) => Promise<unknown>) | undefined): Promise<unknown> {
    const headers = this.#headers(call.metadata)
    const caller = this.#authorize(headers)
    if (call.request?.[MALFORMED] !== undefined) throw call.request[MALFORMED]
    if (handler === undefined) throw new GrpcStatusError(this.#grpc.status.UNIMPLEMENTED, `${name} is not implemented`)
    return await handler(call.request, caller, headers)
  }

  #headers (md: GrpcJs.Metadata): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') out[k] = v
    return out
  }

  /** As edge/api/token.ts: the runtime token or an app's own; the app token decides the caller. */
  #authorize (headers: Record<string, string>): Caller {
    const given = headers['dapr-api-token'] ?? ''
    const byToken = this.#opts.appTokens?.get(given)
    const current = this.#token
    if (current !== undefined && byToken === undefined && !same(Buffer.from(given), Buffer.from(current))) {
      throw new MechaError('ERR_API_UNAUTHORIZED', 'authentication failed: missing or wrong dapr-api-token metadata')
    }
    if (byToken !== undefined) return { appId: byToken }
    const h = headers['dapr-app-id']
    if (h !== undefined && h !== '') return { appId: h }
    const id = this.#opts.runtimeId
    return { appId: typeof id === 'string' ? id : id() }
  }

  #error (err: unknown, method: string): object {
    if (err instanceof GrpcStatusError) return { code: err.code, details: err.message }
    return toServiceError(this.#grpc, err, (e) => { this.#opts.log.error({ err: e, method }, 'gRPC call failed unexpectedly') })
  }

  async listen (): Promise<{ host: string; port: number }> {
    const { host, port } = this.#opts
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    try {
      this.#port = await new Promise<number>((resolve, reject) => {
        this.#server.bindAsync(target, this.#grpc.ServerCredentials.createInsecure(), (err, p) => { if (err != null) reject(err); else resolve(p) })
      })
    } catch (err) {
      throw new MechaError('MECHA_ERR_LISTEN', `gRPC API cannot listen on ${target}: ${(err as Error).message}`, { cause: err })
    }
    return this.address!
  }

  get address (): { host: string; port: number } | undefined {
    return this.#port === undefined ? undefined : { host: this.#opts.host, port: this.#port }
  }

  /** Graceful for up to `graceMs` (calls in flight finish), then forced. Idempotent. */
  async close (graceMs = 1000): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.#server.forceShutdown(); resolve() }, graceMs)
      this.#server.tryShutdown(() => { clearTimeout(timer); resolve() })
    })
  }
}
