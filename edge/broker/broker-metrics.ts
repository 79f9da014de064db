import type { Metrics } from '../../core/metrics.ts'

export type RejectReason = 'auth' | 'acl' | 'too_large' | 'too_many_clients' | 'too_many_inflight' | 'client_id' | 'protocol' | 'interceptor'

/** The broker's figures, in Prometheus and as plain numbers for `/v1.0/metadata`. */
export class BrokerMetrics {
  readonly clients
  readonly messagesIn
  readonly messagesOut
  readonly bytesIn
  readonly bytesOut
  readonly rejected
  readonly connections
  readonly sessionsExpired
  #offlineSessions: () => number = () => 0
  readonly counts = { messagesIn: 0, messagesOut: 0, rejected: 0 }
  /** Packets by QoS 0, 1, 2 (a 4th slot so an out-of-range value cannot write past the end): counted, and already handed to the Prometheus counter. */
  readonly #inQos = { counted: [0, 0, 0, 0], pushed: [0, 0, 0, 0] }
  readonly #outQos = { counted: [0, 0, 0, 0], pushed: [0, 0, 0, 0] }

  constructor (metrics: Metrics, sample: () => { clients: number; bytesIn: number; bytesOut: number }) {
    this.clients = metrics.gauge({ name: 'mecha_mqtt_clients', help: 'MQTT clients connected now', collect () { this.set(sample().clients) } })
    // Counted per packet in plain numbers and handed to prom-client when it is read: a labelled `inc` per
    // packet hashes its labels each time (~1 % of the broker's CPU under load).
    const inQos = this.#inQos; const outQos = this.#outQos
    this.messagesIn = metrics.counter({ name: 'mecha_mqtt_messages_in_total', help: 'PUBLISH packets received from clients', labelNames: ['qos'], collect () { pushCounts(this, inQos) } })
    this.messagesOut = metrics.counter({ name: 'mecha_mqtt_messages_out_total', help: 'PUBLISH packets sent to clients', labelNames: ['qos'], collect () { pushCounts(this, outQos) } })
    this.bytesIn = metrics.gauge({ name: 'mecha_mqtt_bytes_in_total', help: 'bytes received on MQTT connections (TCP and WebSocket)', collect () { this.set(sample().bytesIn) } })
    this.bytesOut = metrics.gauge({ name: 'mecha_mqtt_bytes_out_total', help: 'bytes sent on MQTT connections (TCP and WebSocket)', collect () { this.set(sample().bytesOut) } })
    this.rejected = metrics.counter({ name: 'mecha_mqtt_rejected_total', help: 'connections, publishes and subscriptions rejected, by reason', labelNames: ['reason'] })
    this.connections = metrics.counter({ name: 'mecha_mqtt_connections_total', help: 'MQTT connections accepted' })
    this.sessionsExpired = metrics.counter({ name: 'mecha_mqtt_sessions_expired_total', help: 'persistent sessions removed because their client stayed offline longer than mqtt.sessionExpirySeconds' })
    const offline = (): number => this.#offlineSessions()
    metrics.gauge({ name: 'mecha_mqtt_sessions_offline', help: 'persistent sessions whose client is offline now', collect () { this.set(offline()) } })
  }

  /** Where the offline-session gauge reads from (the persistence, when it tracks offline times). */
  watchOfflineSessions (count: () => number): void { this.#offlineSessions = count }

  reject (reason: RejectReason): void {
    this.counts.rejected++
    this.rejected.inc({ reason })
  }

  in (qos: number): void { this.counts.messagesIn++; this.#inQos.counted[qos & 3]!++ }
  out (qos: number): void { this.counts.messagesOut++; this.#outQos.counted[qos & 3]!++ }
}

interface QosCounts { counted: number[]; pushed: number[] }

/** Adds what was counted since the last read to the counter, per QoS label (a label appears once it counts). */
function pushCounts (counter: { inc: (labels: { qos: string }, value: number) => void }, c: QosCounts): void {
  for (let qos = 0; qos < 3; qos++) {
    const delta = c.counted[qos]! - c.pushed[qos]!
    if (delta <= 0) continue
    c.pushed[qos] = c.counted[qos]!
    counter.inc({ qos: String(qos) }, delta)
  }
}
