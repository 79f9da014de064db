import { KNOWN_COMPONENT_TYPES } from './dapr-schema.ts'
import type { ConfigProblem } from './types.ts'

export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

const ANY = new Set(['0.0.0.0', '::', ''])

/** Checks across keys that a schema cannot express; `c` has passed the schema, defaults filled. */
export function semanticProblems (c: Record<string, any>): ConfigProblem[] {
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

  const listeners: Array<[string, string, number]> = [['mqtt', c.mqtt.host, c.mqtt.port], ['api', c.api.host, c.api.port]]
  if (c.ui.enabled) listeners.push(['ui', c.ui.host, c.ui.port])
  if (c.metrics.enabled) listeners.push(['metrics', c.metrics.host, c.metrics.port])
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, ha, pa] = listeners[j]; const [b, hb, pb] = listeners[i]
      if (pa !== 0 && pa === pb && (ha === hb || ANY.has(ha) || ANY.has(hb))) add(`${b}.port`, `${pb} is already used by ${a}.port`)
    }
  }

  const names = new Set<string>()
  const pubsubs = new Set(['pubsub'])
  c.components.forEach((doc: any, i: number) => {
    const type = doc.spec?.type
    if (typeof type === 'string' && !(KNOWN_COMPONENT_TYPES as readonly string[]).includes(type)) {
      add(`components[${i}].spec.type`, `unknown component type "${type}" (known: ${KNOWN_COMPONENT_TYPES.join(', ')})`)
    }
    const name = doc.metadata?.name
    if (names.has(name)) add(`components[${i}].metadata.name`, `duplicate component name "${name}"`)
    names.add(name)
    if (typeof type === 'string' && type.startsWith('pubsub.')) pubsubs.add(name)
  })

  c.subscriptions.forEach((doc: any, i: number) => {
    const spec = doc.spec ?? {}
    if (!pubsubs.has(spec.pubsubname)) add(`subscriptions[${i}].spec.pubsubname`, `no pub/sub component "${spec.pubsubname}" (known: ${[...pubsubs].join(', ')})`)
    if (spec.route === undefined && spec.routes === undefined) add(`subscriptions[${i}].spec`, 'needs route (v1alpha1) or routes (v2alpha1)')
    if (spec.routes !== undefined && spec.routes.default === undefined && (spec.routes.rules ?? []).length === 0) {
      add(`subscriptions[${i}].spec.routes`, 'needs a default route or at least one rule')
    }
  })

  const appIds = new Set<string>()
  c.apps.forEach((app: any, i: number) => {
    if (appIds.has(app.id)) add(`apps[${i}].id`, `duplicate app id "${app.id}"`)
    appIds.add(app.id)
    if (app.command === undefined && app.appPort === undefined) add(`apps[${i}]`, 'needs a command (a supervised app) or an appPort (an app running on its own)')
  })
  return problems
}
