import { bool, host, int, obj, oneOf, port, str } from '../schema-parts.ts'
import type { ConfigProblem } from '../types.ts'
import { isLoopback } from './listeners.ts'
import type { ConfigSection } from './section.ts'

/** The embedded broker: its listener, limits, users and ACL. */
export const mqttSection: ConfigSection = {
  key: 'mqtt',
  schema: obj({
    host: host('127.0.0.1'),
    port: port(1883),
    maxPayloadBytes: int(1, 268435455, 262144),
    maxClients: int(1, 1_000_000, 1000),
    maxInflight: int(1, 65535, 100),
    /** Seconds a client may stay silent past its keepalive before it is dropped, as the spec's 1.5× rule. */
    connectTimeoutMs: int(100, 600_000, 30_000),
    /**
     * A CleanSession=0 session whose client stays offline this long is removed with its queue (MQTT 3.1.1 has no
     * session expiry; mosquitto's `persistent_client_expiration`). 0 = never. Default 7 days: longer than the
     * week-long outages the product rides through, short enough that an unplugged client cannot fill the disk.
     */
    sessionExpirySeconds: int(0, 315_360_000, 604_800),
    users: {
      type: 'array',
      default: [],
      items: obj({
        username: str({ minLength: 1 }),
        password: str({ pattern: '^scrypt\\$', 'x-message': 'must be a hash made by `mecha passwd` (scrypt$…), never a plain password' }),
      }, { required: ['username', 'password'] }),
    },
    acl: {
      type: 'array',
      default: [],
      items: obj({
        user: str({ minLength: 1 }),
        clientId: str({ minLength: 1 }),
        topic: str({ minLength: 1 }),
        access: oneOf(['publish', 'subscribe', 'both'], 'both'),
        allow: bool(true),
      }, { required: ['topic'] }),
    },
  }, { default: {} }),
  problems (c) {
    const problems: ConfigProblem[] = []
    const add = (path: string, message: string): void => { problems.push({ path, message }) }
    // As mosquitto 2: anonymous access only while the broker listens on loopback alone.
    // MQTT over WebSocket on the UI port is a broker listener too.
    if (c.mqtt.users.length === 0) {
      if (!isLoopback(c.mqtt.host)) add('mqtt.users', `required when mqtt.host (${c.mqtt.host}) is not loopback: anonymous clients are allowed only on loopback`)
      else if (c.ui.enabled && !isLoopback(c.ui.host)) add('mqtt.users', `required when ui.host (${c.ui.host}) is not loopback: MQTT over WebSocket is served there, and anonymous clients are allowed only on loopback`)
    }
    const usernames = new Set<string>()
    c.mqtt.users.forEach((u: { username: string }, i: number) => {
      if (usernames.has(u.username)) add(`mqtt.users[${i}].username`, `duplicate user "${u.username}"`)
      usernames.add(u.username)
    })
    c.mqtt.acl.forEach((r: { user?: string }, i: number) => {
      if (r.user !== undefined && r.user !== '%u' && !usernames.has(r.user)) add(`mqtt.acl[${i}].user`, `no user "${r.user}" in mqtt.users`)
    })
    return problems
  },
  listeners: (c) => [{ path: 'mqtt.port', host: c.mqtt.host, port: c.mqtt.port }],
}
