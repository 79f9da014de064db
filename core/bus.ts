/**
 * The local message bus as other parts see it. The embedded broker implements it; the cloud bridge, the
 * pub/sub API and device bindings use only this, never aedes itself.
 */
export interface BusMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** Who put it on the bus: an MQTT client id, `api`, `cloud` (received from the cloud: never forwarded back), … */
  origin?: string
}

/**
 * Runs before the broker accepts a publish, i.e. before the publisher's PUBACK (or the API's 204).
 * The cloud bridge writes forwarded messages to its durable outbox here. Throwing a MechaError rejects the
 * publish (the publisher gets no ack; an API caller gets the error).
 */
export type PublishInterceptor = (msg: BusMessage) => Promise<void>

export type BusHandler = (msg: BusMessage) => void | Promise<void>

export interface LocalBus {
  /** Publishes as the runtime itself; resolves once every interceptor ran and the broker accepted it. */
  publish(msg: BusMessage): Promise<void>
  /** Subscribes with an MQTT filter (`+`/`#` wildcards); resolves to an unsubscribe function. */
  subscribe(filter: string, handler: BusHandler): Promise<() => Promise<void>>
  /** Adds an interceptor; returns a function that removes it. */
  intercept(fn: PublishInterceptor): () => void
}

/**
 * Client ids of the runtime's own MQTT sessions (pub/sub subscriptions) start with this. The broker refuses it
 * to outside clients, so nobody can take over a subscription's session and its queued events, and never
 * expires those sessions (the pub/sub registry ends the ones no app wants).
 */
export const RUNTIME_SESSION_PREFIX = 'mecha-sub/'
