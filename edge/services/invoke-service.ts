/**
 * Service invocation without a transport (docs.dapr.io/reference/api/service_invocation_api): finds the
 * target app and calls it on its app channel (HTTP or gRPC, by its appProtocol). HTTP routes
 * (edge/invoke/invoke-routes.ts) and gRPC InvokeService adapt to it; the caller id goes to the app as
 * `dapr-caller-app-id`.
 */
import type { AppConfig } from '../../core/config/index.ts'
import { MechaError } from '../../core/errors.ts'
import type { ChannelInvoke, ChannelResponse } from '../invoke/app-channel.ts'
import { AppChannels } from '../invoke/app-channels.ts'
import type { Caller } from './caller.ts'

export interface InvokeServiceDeps {
  apps: () => readonly AppConfig[]
  /** Shared with subscriptions; a private one when absent. */
  channels?: AppChannels
  /** The largest answer passed back. @default 4 MiB (Dapr's default max body size) */
  maxResponseBytes?: number
}

export type InvokeInput = Omit<ChannelInvoke, 'callerId' | 'maxResponseBytes'>

export class InvokeService {
  readonly #d: InvokeServiceDeps
  readonly #channels: AppChannels
  readonly maxResponseBytes: number

  constructor (deps: InvokeServiceDeps) {
    this.#d = deps
    this.#channels = deps.channels ?? new AppChannels()
    this.maxResponseBytes = deps.maxResponseBytes ?? 4 * 1024 * 1024
  }

  find (appId: string): AppConfig {
    const target = this.#d.apps().find((a) => a.id === appId)
    if (target === undefined) throw new MechaError('ERR_APP_NOT_FOUND', `app id ${appId} not found`)
    return target
  }

  async invoke (caller: Caller, appId: string, call: InvokeInput): Promise<ChannelResponse> {
    const app = this.find(appId)
    if (app.appPort === undefined) throw new MechaError('ERR_DIRECT_INVOKE', `app ${app.id} has no appPort; it cannot be invoked`)
    return await this.#channels.for(app).invoke({ ...call, callerId: caller.appId, maxResponseBytes: this.maxResponseBytes })
  }

  /** Closes the channels it made itself (shared ones are their owner's). */
  async close (): Promise<void> {
    if (this.#d.channels === undefined) await this.#channels.close()
  }
}
