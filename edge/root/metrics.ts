/** Gauges of parts that a reload may replace: each reads the part in force when Prometheus scrapes. */
import type { Metrics } from '../../core/metrics.ts'
import type { CloudBridge } from '../../cloud-bridge/index.ts'
import type { BindingHost } from '../bindings/index.ts'

export function registerCloudMetrics (metrics: Metrics, current: () => CloudBridge | undefined): void {
  metrics.gauge({ name: 'mecha_cloud_connected', help: '1 while the cloud link is up', collect () { this.set(current()?.snapshot().connected === true ? 1 : 0) } })
  metrics.gauge({
    name: 'mecha_cloud_outbox_messages',
    help: 'the outbox ledger: accepted = delivered + dropped + queued',
    labelNames: ['kind'],
    collect () {
      const l = current()?.ledger()
      if (l === undefined) return
      this.set({ kind: 'accepted' }, l.accepted); this.set({ kind: 'delivered' }, l.delivered); this.set({ kind: 'queued' }, l.queued)
      this.set({ kind: 'rejected_new' }, l.rejectedNew)
      for (const [reason, n] of Object.entries(l.dropped)) this.set({ kind: `dropped_${reason}` }, n)
    },
  })
  metrics.gauge({ name: 'mecha_cloud_outbox_write_errors', help: 'outbox writes that failed (disk full): those publishes were not acknowledged', collect () { this.set(current()?.stats().writeErrors ?? 0) } })
  metrics.gauge({ name: 'mecha_cloud_outbox_bytes', help: 'bytes queued in the outbox', collect () { this.set(current()?.ledger().queuedBytes ?? 0) } })
}

export function registerBindingMetrics (metrics: Metrics, host: () => BindingHost | undefined): void {
  metrics.gauge({
    name: 'mecha_binding_counter',
    help: 'per device binding: events, errors (malformed frames, failed parses), reconnects, output invokes, deliveries dropped',
    labelNames: ['binding', 'kind'],
    collect () {
      for (const b of host()?.status() ?? []) {
        for (const kind of ['events', 'errors', 'reconnects', 'invokes', 'deliveryDropped'] as const) this.set({ binding: b.name, kind }, Number(b.counters[kind] ?? 0))
      }
    },
  })
  metrics.gauge({ name: 'mecha_binding_open', help: '1 while a device binding is open (its device present)', labelNames: ['binding'], collect () { for (const b of host()?.status() ?? []) this.set({ binding: b.name }, b.status.type === 'open' ? 1 : 0) } })
}
