/**
 * A TCP proxy on a loopback port that a test can cut: `cut()` destroys every open connection (both sides),
 * `pause()` refuses new ones until `resume()`. For the flapping-link test.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export class TcpProxy {
  readonly #server: Server
  readonly #pairs = new Set<[Socket, Socket]>()
  #paused = false
  cuts = 0
  connections = 0

  private constructor (server: Server) { this.#server = server }

  static async create (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy!: TcpProxy
    const server = createServer((client) => {
      if (proxy.#paused) { client.destroy(); return }
      proxy.connections++
      const upstream = createConnection({ port: targetPort, host: targetHost })
      const pair: [Socket, Socket] = [client, upstream]
      proxy.#pairs.add(pair)
      const end = (): void => { client.destroy(); upstream.destroy(); proxy.#pairs.delete(pair) }
      client.on('error', end); upstream.on('error', end)
      client.on('close', end); upstream.on('close', end)
      client.pipe(upstream); upstream.pipe(client)
    })
    proxy = new TcpProxy(server)
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    return proxy
  }

  get port (): number { return (this.#server.address() as AddressInfo).port }

  /** Drops every open connection at once, as a dying link does. */
  cut (): void {
    this.cuts++
    for (const [a, b] of this.#pairs) { a.destroy(); b.destroy() }
    this.#pairs.clear()
  }

  pause (): void { this.#paused = true; this.cut() }
  resume (): void { this.#paused = false }

  async close (): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
  }
}
