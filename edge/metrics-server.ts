import { createServer, type Server } from 'node:http'
import type { Metrics } from '../core/metrics.ts'
import { addressOf, closeServer, listenOn } from './http-listener.ts'

/** Prometheus scrape endpoint: `GET /metrics` in the text exposition format. */
export class MetricsServer {
  readonly #server: Server
  readonly #host: string
  readonly #port: number
  #closed = false

  constructor (opts: { host: string; port: number; metrics: Metrics }) {
    this.#host = opts.host
    this.#port = opts.port
    this.#server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n')
        return
      }
      opts.metrics.text().then(
        (text) => { res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(text) },
        (err: Error) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`) },
      )
    })
  }

  listen (): Promise<{ host: string; port: number }> { return listenOn(this.#server, this.#host, this.#port, 'metrics') }
  get address (): { host: string; port: number } | undefined { return addressOf(this.#server) }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await closeServer(this.#server)
  }
}
