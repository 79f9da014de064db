/**
 * The admin API's view of the running parts. The root hands over functions that read the part in force (a
 * reload replaces the cloud link, the supervisor's apps, the bindings), never the root itself: the admin
 * backend gets exactly what it shows and acts on.
 */
import { parseConfig, type ConfigProblem, type MechaConfig } from '../../core/config/index.ts'
import { MechaError, isMechaError } from '../../core/errors.ts'
import type { BindingRegistry } from '../../core/bindings/registry.ts'
import type { StateStore } from '../../core/state/index.ts'
import type { Supervisor } from '../../core/supervisor/index.ts'
import type { CloudBridge } from '../../cloud-bridge/index.ts'
import type { AdminStatusEvent } from '../admin/backend.ts'
import type { BindingHost } from '../bindings/index.ts'
import type { MqttBroker } from '../broker/index.ts'
import type { ReloadOutcome } from '../reload/merge.ts'

export interface AdminParts {
  version: string
  startedAt: number
  configFile: string | undefined
  /** What every config read overrides (`--data-dir`), and the component types the build knows. */
  overrides: { dataDir?: string } | undefined
  catalog: BindingRegistry
  config: () => MechaConfig
  phase: () => string
  reload: (why: string) => Promise<ReloadOutcome>
  subscribe: (fn: (e: AdminStatusEvent) => void) => () => void
  broker: MqttBroker
  cloud: () => CloudBridge | undefined
  supervisor: () => Supervisor | undefined
  bindings: () => BindingHost | undefined
  stateStores: () => ReadonlyMap<string, StateStore>
}

type AdminModule = typeof import('../admin-backend.ts')

/** The first argument is the admin backend module, which the root loads only when the UI is on. */
export function adminBackendOf ({ createAdminBackend, partsOf, componentsOf }: AdminModule, p: AdminParts): ReturnType<AdminModule['createAdminBackend']> {
  const noBinding = (name: string): MechaError => new MechaError('ERR_BINDING_NOT_FOUND', `couldn't find output binding ${name}`)
  return createAdminBackend({
    id: () => p.config().id,
    version: p.version,
    startedAt: p.startedAt,
    config: p.config,
    configFile: p.configFile,
    validate: async (raw) => {
      try {
        await parseConfig(raw, { env: process.env, overrides: p.overrides, components: p.catalog })
        return []
      } catch (err) {
        if (isMechaError(err, 'MECHA_ERR_CONFIG_INVALID')) return err.details as ConfigProblem[]
        throw err
      }
    },
    reload: p.reload,
    parts: () => partsOf({ phase: p.phase(), broker: p.broker, cloud: p.cloud(), apps: p.supervisor()?.status() ?? [], bindings: p.bindings()?.status() ?? [] }),
    subscribe: p.subscribe,
    supervisor: p.supervisor,
    broker: p.broker,
    components: () => componentsOf(p.config(), p.bindings()?.status() ?? []),
    stateStores: p.stateStores,
    bindings: () => p.bindings()?.status() ?? [],
    invokeBinding: async (name, op, data, md) => {
      const host = p.bindings()
      if (host === undefined) throw noBinding(name)
      return await host.invoke(name, op, data, md)
    },
    cloudActions: {
      test: async (section) => { const { testCloudConnection } = await import('./cloud-test.ts'); return await testCloudConnection(section, p.config().id) },
      dropQueued: async () => {
        const cloud = p.cloud()
        if (cloud === undefined) throw new MechaError('ERR_NOT_FOUND', 'no cloud link is configured')
        return await cloud.dropQueued()
      },
    },
    cloud: async () => {
      const cloud = p.cloud()
      if (cloud === undefined) return { configured: false, status: { type: 'not-configured' } }
      const snap = cloud.snapshot()
      const l = snap.ledger
      const dropped = Object.values(l.dropped).reduce((a: number, n) => a + Number(n), 0)
      const oldest = l.queued > 0 ? await cloud.oldestQueuedAt() : undefined
      return { configured: true, status: snap.status, outbox: { queued: l.queued, bytes: l.queuedBytes, maxBytes: p.config().cloud?.outbox.maxBytes ?? 0, accepted: l.accepted, delivered: l.delivered, dropped, ...(oldest === undefined ? {} : { oldestQueuedAt: new Date(oldest).toISOString() }) } }
    },
  })
}
