/**
 * The persistent MQTT sessions the runtime created for subscriptions, kept in the store. The broker keeps a
 * CleanSession 0 session (and queues for it) until that client id connects again with CleanSession 1
 * [MQTT-3.1.2-6]; the runtime is the only one that knows which of those sessions are its own and which are
 * still wanted, and it must know it after a restart too, or a subscription that an app stopped listing (or
 * that left the config) would keep queueing in LevelDB forever. So a session is registered before it is
 * first created, and unregistered only after the broker discarded it.
 */
import type { Namespace } from '../../core/store/index.ts'

/** What is kept per session: enough to tell, later, whether it is still wanted as it is. */
export interface RegisteredSession {
  appId: string
  kind: 'declarative' | 'programmatic'
  /** The subscription's name (the document name, or `pubsub/topic`). */
  name: string
  /** The MQTT filter the session subscribed to. */
  topic: string
}

export class SessionRegistry {
  readonly #ns: Namespace<RegisteredSession> | undefined
  /** clientId → entry; loaded once, then kept in step with every write. */
  readonly #known = new Map<string, RegisteredSession>()

  private constructor (ns: Namespace<RegisteredSession> | undefined) {
    this.#ns = ns
  }

  /** Loads the registry from `ns`; without one it only remembers what this runtime lifetime registered. */
  static async open (ns?: Namespace): Promise<SessionRegistry> {
    const self = new SessionRegistry(ns?.namespace<RegisteredSession>('sessions'))
    if (self.#ns !== undefined) {
      for await (const [clientId, entry] of self.#ns.entries()) self.#known.set(clientId, entry)
    }
    return self
  }

  get (clientId: string): RegisteredSession | undefined { return this.#known.get(clientId) }

  /** Every registered session, as [clientId, entry]. */
  all (): Array<[string, RegisteredSession]> { return [...this.#known] }

  /** The registered sessions of one app. */
  ofApp (appId: string): Array<[string, RegisteredSession]> {
    return this.all().filter(([, e]) => e.appId === appId)
  }

  /** Records a session before it is created in the broker (so a crash in between leaks nothing). */
  async add (clientId: string, entry: RegisteredSession): Promise<void> {
    const known = this.#known.get(clientId)
    if (known !== undefined && JSON.stringify(known) === JSON.stringify(entry)) return
    await this.#ns?.put(clientId, entry)
    this.#known.set(clientId, { ...entry })
  }

  /** Forgets a session the broker has discarded. */
  async remove (clientId: string): Promise<void> {
    if (!this.#known.has(clientId)) return
    await this.#ns?.del(clientId)
    this.#known.delete(clientId)
  }
}
