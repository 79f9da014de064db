/**
 * The services both transports share, made in one place: the composition root builds them once and hands the
 * same objects to the HTTP routes (`stateService`, `publishService`, … route deps) and to GrpcServer.
 */
import type { LocalBus } from '../../core/bus.ts'
import type { AppConfig } from '../../core/config/index.ts'
import type { LockStore, StateStore } from '../../core/state/index.ts'
import type { AppChannels } from '../invoke/app-channels.ts'
import type { PubsubMetrics } from '../pubsub/metrics.ts'
import { InvokeService } from '../services/invoke-service.ts'
import { LockService } from '../services/lock-service.ts'
import { MetadataService, type MetadataBody } from '../services/metadata-service.ts'
import { PublishService } from '../services/publish-service.ts'
import { StateService } from '../services/state-service.ts'

export interface ServicesDeps {
  stores: (name: string) => (StateStore & LockStore) | undefined
  storeNames: () => string[]
  /** Read per request (a getter follows reloads). */
  readonly maxValueBytes: number
  bus: LocalBus
  pubsubNames: () => readonly string[]
  readonly maxPayloadBytes: number
  pubsubMetrics?: PubsubMetrics
  apps: () => readonly AppConfig[]
  channels?: AppChannels
  metadata: () => Promise<MetadataBody>
  setExtended: (key: string, value: string) => void
}

export interface Services { state: StateService; lock: LockService; publish: PublishService; invoke: InvokeService; metadata: MetadataService }

export function createServices (d: ServicesDeps): Services {
  return {
    state: new StateService({ stores: d.stores, storeNames: d.storeNames, get maxValueBytes () { return d.maxValueBytes } }),
    lock: new LockService({ stores: d.stores, storeNames: d.storeNames }),
    publish: new PublishService({ bus: d.bus, pubsubNames: d.pubsubNames, get maxPayloadBytes () { return d.maxPayloadBytes }, ...(d.pubsubMetrics ? { metrics: d.pubsubMetrics } : {}) }),
    invoke: new InvokeService({ apps: d.apps, ...(d.channels ? { channels: d.channels } : {}) }),
    metadata: new MetadataService({ metadata: d.metadata, setExtended: d.setExtended }),
  }
}
