/**
 * One app channel per app, by its `appProtocol` (Dapr's `--app-protocol`): HTTP (default) or gRPC. A gRPC
 * channel loads @grpc/grpc-js only on its first call (dynamic import, CONVENTIONS 13), so a runtime without
 * gRPC apps never loads it. Shared by subscriptions and service invocation; closed with its owner.
 */
import type { AppConfig } from '../../core/config/index.ts'
import type { AppChannel, ChannelEvent, ChannelInvoke } from './app-channel.ts'
import { HttpAppChannel } from './http-channel.ts'

export interface AppChannelsOptions {
  /** The largest gRPC message taken from an app. @default 4 MiB */
  maxMessageBytes?: number
}

/** The app's protocol; `appProtocol` is absent from configs written before it existed. */
export function appProtocolOf (app: AppConfig): 'http' | 'grpc' {
  return (app as { appProtocol?: string }).appProtocol === 'grpc' ? 'grpc' : 'http'
}

class LazyGrpcChannel implements AppChannel {
  readonly protocol = 'grpc' as const
  readonly #open: () => Promise<AppChannel>
  #channel: Promise<AppChannel> | undefined
  #closed = false

  constructor (open: () => Promise<AppChannel>) { this.#open = open }

  #get (): Promise<AppChannel> {
    if (this.#channel === undefined) this.#channel = this.#open()
    return this.#channel
  }

  async invoke (call: ChannelInvoke): ReturnType<AppChannel['invoke']> { return await (await this.#get()).invoke(call) }
  async subscriptions (timeoutMs: number, signal: AbortSignal): ReturnType<AppChannel['subscriptions']> { return await (await this.#get()).subscriptions(timeoutMs, signal) }
  async deliver (ev: ChannelEvent): ReturnType<AppChannel['deliver']> { return await (await this.#get()).deliver(ev) }
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#channel !== undefined) await (await this.#channel.catch(() => undefined))?.close()
  }
}

export class AppChannels {
  readonly #opts: AppChannelsOptions
  readonly #cache = new Map<string, { key: string; channel: AppChannel }>()

  constructor (opts: AppChannelsOptions = {}) { this.#opts = opts }

  /** The channel to `app`; the same one while its id, protocol, host and port stay. */
  for (app: AppConfig): AppChannel {
    const protocol = appProtocolOf(app)
    const key = `${protocol}|${app.appHost}|${app.appPort ?? ''}|${JSON.stringify(app.invoke)}`
    const hit = this.#cache.get(app.id)
    if (hit !== undefined && hit.key === key) return hit.channel
    if (hit !== undefined) void hit.channel.close()
    const target = { appId: app.id, host: app.appHost, port: app.appPort ?? 0 }
    const channel: AppChannel = protocol === 'grpc'
      ? new LazyGrpcChannel(async () => {
        const { GrpcAppChannel } = await import('../grpc/app-channel.ts')
        return await GrpcAppChannel.create(target, app, { maxMessageBytes: this.#opts.maxMessageBytes })
      })
      : new HttpAppChannel(target, app)
    this.#cache.set(app.id, { key, channel })
    return channel
  }

  async close (): Promise<void> {
    const all = [...this.#cache.values()]
    this.#cache.clear()
    await Promise.all(all.map(async (c) => { await c.channel.close() }))
  }
}
