import { cloudProblems } from './cloud-schema.ts'
import { BUILTIN_COMPONENT_TYPES, type ComponentCatalog } from './dapr-schema.ts'
import { componentMetadata } from './types.ts'
import type { ConfigProblem } from './types.ts'

export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

const ANY = new Set(['0.0.0.0', '::', ''])

/** Checks across keys that a schema cannot express; `c` has passed the schema, defaults filled. */
export function semanticProblems (c: Record<string, any>, catalog?: ComponentCatalog): ConfigProblem[] {
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
  // The built-in store and every state.level component (edge/runtime.ts starts exactly these).
  const stateStores = new Set(['statestore'])
  c.components.forEach((doc: any, i: number) => {
    const type = doc.spec?.type
    const extra = catalog?.types() ?? []
    const known = [...BUILTIN_COMPONENT_TYPES, ...extra]
    if (typeof type === 'string' && !known.includes(type)) {
      add(`components[${i}].spec.type`, `unknown component type "${type}" (known: ${known.join(', ')})`)
    } else if (catalog !== undefined && extra.includes(type)) {
      // Each type checks its own metadata (baud rates, GPIO lines, cron expressions …), paths relative to it.
      for (const p of catalog.validate({ name: doc.metadata?.name, type, metadata: componentMetadata(doc) })) add(`components[${i}].${p.path}`, p.message)
    }
    const name = doc.metadata?.name
    if (names.has(name)) add(`components[${i}].metadata.name`, `duplicate component name "${name}"`)
    names.add(name)
    if (typeof type === 'string' && type.startsWith('pubsub.')) pubsubs.add(name)
    if (type === 'state.level') stateStores.add(name)
  })

  // The cloud section's own cross-key checks, then the ones that need the rest of the config.
  if (c.cloud !== undefined) {
    problems.push(...cloudProblems(c.cloud))
    const store = c.cloud.stateSync?.store
    if (typeof store === 'string' && !stateStores.has(store)) add('cloud.stateSync.store', `no state store "${store}" (known: ${[...stateStores].join(', ')})`)
  }

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
  problems.push(...appProblems(c.apps))
  return problems
}

/** Supervision checks of `apps:`: dependsOn names known apps and has no cycle; backoff bounds; health needs a port. */
export function appProblems (apps: ReadonlyArray<Record<string, any>>): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const index = new Map<string, number>()
  apps.forEach((app, i) => { if (!index.has(app.id)) index.set(app.id, i) })
  apps.forEach((app, i) => {
    const deps: string[] = app.dependsOn ?? []
    deps.forEach((dep, j) => {
      if (dep === app.id) problems.push({ path: `apps[${i}].dependsOn[${j}]`, message: `app "${app.id}" cannot depend on itself` })
      else if (!index.has(dep)) problems.push({ path: `apps[${i}].dependsOn[${j}]`, message: `no app "${dep}" (known: ${[...index.keys()].join(', ')})` })
    })
    if (app.backoff !== undefined && app.backoff.maxMs < app.backoff.initialMs) problems.push({ path: `apps[${i}].backoff.maxMs`, message: 'must be ≥ initialMs' })
    if ((app.health !== undefined || app.healthPath !== undefined) && app.appPort === undefined) problems.push({ path: `apps[${i}].health`, message: 'needs appPort: the probe is an HTTP GET on it' })
    if (app.health !== undefined && app.health.timeoutMs > app.health.intervalMs) problems.push({ path: `apps[${i}].health.timeoutMs`, message: 'must be ≤ intervalMs' })
  })
  // Depth-first search for a cycle; each one is reported once, at the app where it closes, with its path.
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (id: string): void => {
    state.set(id, 'visiting')
    stack.push(id)
    const i = index.get(id)!
    const deps: string[] = apps[i].dependsOn ?? []
    deps.forEach((dep, j) => {
      if (dep === id || !index.has(dep)) return
      if (state.get(dep) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep]
        problems.push({ path: `apps[${i}].dependsOn[${j}]`, message: `dependency cycle: ${cycle.join(' → ')}` })
      } else if (!state.has(dep)) visit(dep)
    })
    stack.pop()
    state.set(id, 'done')
  }
  for (const id of index.keys()) if (!state.has(id)) visit(id)
  return problems
}
