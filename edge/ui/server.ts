import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { addressOf, closeServer, listenOn } from '../http-listener.ts'
import type { Logger } from '../../core/logger.ts'
import type { MqttBroker } from '../broker/index.ts'

export interface UiServerOptions { host: string; port: number; log: Logger; broker: MqttBroker; version: string }

const PLACEHOLDER = `<!doctype html><html><head><meta charset="utf-8"><title>Mecha</title></head>
<body><h1>Mecha</h1><p>The configuration UI is not built yet. MQTT over WebSocket is served at <code>/mqtt</code>.</p></body></html>`

/**
 * The UI port: the web UI (a placeholder for now; it will be behind a login) and MQTT over WebSocket at
 * `/mqtt`, which goes straight to the broker and so is guarded by the broker's own users and ACL.
 */
export class UiServer {
  readonly #server: Server
  readonly #wss: WebSocketServer
  readonly #opts: UiServerOptions
  #closed = false

  constructor (opts: UiServerOptions) {
    this.#opts = opts
    this.#server = createServer((req, res) => { this.#request(req, res) })
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: 256 * 1024 * 1024,
      // MQTT.js and browsers offer the `mqtt` subprotocol (MQTT 3.1.1 §6); answer with it when offered.
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    })
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if ((req.url ?? '').split('?')[0] !== '/mqtt') { socket.destroy(); return }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws)
        stream.on('error', () => { ws.terminate() })
        this.#opts.broker.handle(stream, socket)
      })
    })
  }

  #request (req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PLACEHOLDER)
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errorCode: 'ERR_NOT_FOUND', message: `no route ${req.method} ${path}` }))
  }

  listen (): Promise<{ host: string; port: number }> { return listenOn(this.#server, this.#opts.host, this.#opts.port, 'UI') }
  get address (): { host: string; port: number } | undefined { return addressOf(this.#server) }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const ws of this.#wss.clients) ws.terminate()
    this.#wss.close()
    await closeServer(this.#server)
  }
}
