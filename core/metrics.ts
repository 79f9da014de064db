import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client'

/**
 * One Prometheus registry per runtime (never prom-client's global one, so two runtimes in one test process
 * do not collide). Process memory, CPU and event-loop lag come from prom-client's default collectors.
 */
export class Metrics {
  readonly registry = new Registry()

  constructor (opts: { defaults?: boolean } = {}) {
    if (opts.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'mecha_', eventLoopMonitoringPrecision: 20 })
  }

  counter<T extends string> (cfg: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
    return new Counter<T>({ ...cfg, registers: [this.registry] })
  }

  gauge<T extends string> (cfg: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
    return new Gauge<T>({ ...cfg, registers: [this.registry] })
  }

  histogram<T extends string> (cfg: Omit<HistogramConfiguration<T>, 'registers'>): Histogram<T> {
    return new Histogram<T>({ ...cfg, registers: [this.registry] })
  }

  /** The Prometheus text exposition. */
  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
