import type { MechaConfig } from '../../core/config/index.ts'
import type { Logger } from '../../core/logger.ts'
import { callApp } from '../invoke/app-http.ts'
import { appDelivery, type DeliverToApp } from './deliver.ts'

/**
 * Where input-binding events go: the app named in the component's `scopes` (Dapr's way of giving a component
 * to apps), else the one app with a port; Dapr's semantics: `POST /{name}` (or the `route`), 2xx = ack,
 * otherwise retried with backoff. While that app fails its health probes, deliveries wait (the binding host
 * bounds the queue) and go on once it answers again.
 */
export class BindingAppRouter {
  readonly #config: () => MechaConfig
  readonly #log: Logger
  readonly #unhealthy = new Map<string, { wait: Promise<void>; resume: () => void }>()
  readonly #perApp = new Map<string, { port: number; host: string; deliver: DeliverToApp }>()

  constructor (config: () => MechaConfig, log: Logger) {
    this.#config = config
    this.#log = log
  }

  pause (appId: string): void {
    if (this.#unhealthy.has(appId)) return
    let resume!: () => void
    const wait = new Promise<void>((resolve) => { resume = resolve })
    this.#unhealthy.set(appId, { wait, resume })
  }

  resume (appId: string): void {
    this.#unhealthy.get(appId)?.resume()
    this.#unhealthy.delete(appId)
  }

  readonly deliver: DeliverToApp = async (binding, route, body) => {
    const config = this.#config()
    const doc = config.components.find((c) => c.metadata.name === binding)
    const withPort = config.apps.filter((a) => a.appPort !== undefined)
    const scoped = (doc as { scopes?: string[] } | undefined)?.scopes
    const app = scoped !== undefined && scoped.length > 0 ? withPort.find((a) => scoped.includes(a.id)) : withPort.length === 1 ? withPort[0] : undefined
    if (app === undefined) return true // no app takes input bindings: the events still go to MQTT
    await this.#unhealthy.get(app.id)?.wait
    let entry = this.#perApp.get(app.id)
    if (entry === undefined || entry.port !== app.appPort || entry.host !== app.appHost) {
      entry = { port: app.appPort!, host: app.appHost, deliver: appDelivery({ host: app.appHost, port: app.appPort!, call: callApp, log: this.#log.child({ app: app.id }) }) }
      this.#perApp.set(app.id, entry)
    }
    return await entry.deliver(binding, route, body)
  }
}
