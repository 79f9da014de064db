/**
 * A LocalBus over a real aedes broker on a loopback TCP port, for cloud-bridge tests until (and besides) the
 * embedded broker: interceptors run in aedes' `authorizePublish`, which aedes calls before it sends PUBACK,
 * so an MQTT.js publisher here is acknowledged only after the bridge wrote its outbox.
 */
import { createServer, type Server, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import type { BusHandler, BusMessage, LocalBus, PublishInterceptor } from '../../core/bus.ts'

export class AedesBus implements LocalBus {
  readonly broker: Aedes
  readonly #server: Server
  readonly #interceptors = new Set<PublishInterceptor>()
  #closed = false

  private constructor (broker: Aedes, server: Server) {
    this.broker = broker
    this.#server = server
  }

  static async create (): Promise<AedesBus> {
    const broker = await Aedes.createBroker()
    const server = createServer(broker.handle)
    const bus = new AedesBus(broker, server)
    broker.authorizePublish = (client, packet, callback) => {
      if (client === null) { callback(null); return }
      if (packet.topic.startsWith('$SYS')) { callback(new Error('$SYS is read-only')); return }
      const msg: BusMessage = { topic: packet.topic, payload: Buffer.from(packet.payload as Buffer), qos: packet.qos, retain: packet.retain, origin: client.id }
      bus.#runInterceptors(msg).then(() => { callback(null) }, (err: Error) => { callback(err) })
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    return bus
  }

  get port (): number { return (this.#server.address() as AddressInfo).port }
  get url (): string { return `mqtt://127.0.0.1:${this.port}` }

  async #runInterceptors (msg: BusMessage): Promise<void> {
    for (const fn of this.#interceptors) await fn(msg)
  }

  async publish (msg: BusMessage): Promise<void> {
    await this.#runInterceptors(msg)
    await new Promise<void>((resolve, reject) => {
      this.broker.publish({ cmd: 'publish', topic: msg.topic, payload: msg.payload, qos: msg.qos, retain: msg.retain, dup: false }, (err) => {
        if (err != null) reject(err); else resolve()
      })
    })
  }

  async subscribe (filter: string, handler: BusHandler): Promise<() => Promise<void>> {
    const deliver = (packet: any, cb: () => void): void => {
      Promise.resolve(handler({ topic: packet.topic, payload: Buffer.from(packet.payload), qos: packet.qos, retain: packet.retain })).catch(() => {}).finally(cb)
    }
    await new Promise<void>((resolve) => { this.broker.subscribe(filter, deliver, resolve) })
    return async () => { await new Promise<void>((resolve) => { this.broker.unsubscribe(filter, deliver, resolve) }) }
  }

  intercept (fn: PublishInterceptor): () => void {
    this.#interceptors.add(fn)
    return () => { this.#interceptors.delete(fn) }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve() }); this.#server.unref() })
    await new Promise<void>((resolve) => { this.broker.close(() => { resolve() }) })
  }
}
