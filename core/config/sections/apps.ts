import { host, int, obj, oneOf, str } from '../schema-parts.ts'
import type { ConfigProblem } from '../types.ts'
import type { ConfigSection } from './section.ts'

/** Supervised and external apps: ids, how to start and reach them, supervision, health, logs. */
export const appsSection: ConfigSection = {
  key: 'apps',
  schema: {
    type: 'array',
    default: [],
    items: obj({
      id: str({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', 'x-message': 'must be letters, digits, ".", "_" or "-"' }),
      command: str({ minLength: 1 }),
      args: { type: 'array', items: { type: 'string' }, default: [] },
      cwd: str({ minLength: 1 }),
      env: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
      appPort: int(1, 65535),
      appHost: host('127.0.0.1'),
      /** How the runtime calls the app (Dapr's --app-protocol): HTTP routes, or the gRPC AppCallback service. */
      appProtocol: oneOf(['http', 'grpc'], 'http'),
      restart: oneOf(['always', 'on-failure', 'never'], 'always'),
      /** Superseded by `health.path` (kept: it also turns the health probe on). */
      healthPath: str({ minLength: 1 }),
      // Supervision (core/supervisor): start order, restart backoff, crash loop, Dapr app-health probes, stop, logs.
      dependsOn: { type: 'array', items: str({ minLength: 1 }), default: [], uniqueItems: true },
      backoff: obj({
        initialMs: int(1, 3_600_000, 500),
        maxMs: int(1, 86_400_000, 30_000),
        resetAfterMs: int(0, 86_400_000, 30_000),
      }, { default: {} }),
      crashLoop: obj({
        failures: int(1, 1000, 5),
        windowMs: int(1, 86_400_000, 60_000),
      }, { default: {} }),
      // Dapr's appHealthCheckPath / appHealthProbeInterval / appHealthProbeTimeout / appHealthThreshold.
      health: obj({
        path: str({ pattern: '^/', 'x-message': 'must be a path starting with "/"', default: '/healthz' }),
        intervalMs: int(100, 3_600_000, 5000),
        timeoutMs: int(10, 600_000, 500),
        threshold: int(1, 1000, 3),
        restartAfter: int(0, 100_000, 12),
      }),
      stopGraceMs: int(0, 600_000, 3000),
      logs: obj({
        maxBytes: int(1024, 1_073_741_824, 1_048_576),
        files: int(0, 100, 3),
      }, { default: {} }),
      // Service invocation to this app (docs/pubsub.md): a deadline per call, and retries of calls that never reached it.
      invoke: obj({
        timeoutMs: int(1, 3_600_000, 60_000),
        maxRetries: int(0, 100, 3),
        retryIntervalMs: int(0, 60_000, 1000),
      }, { default: {} }),
    }, { required: ['id'] }),
  },
  problems (c) {
    const problems: ConfigProblem[] = []
    const appIds = new Set<string>()
    c.apps.forEach((app: any, i: number) => {
      if (appIds.has(app.id)) problems.push({ path: `apps[${i}].id`, message: `duplicate app id "${app.id}"` })
      appIds.add(app.id)
      if (app.command === undefined && app.appPort === undefined) problems.push({ path: `apps[${i}]`, message: 'needs a command (a supervised app) or an appPort (an app running on its own)' })
    })
    return [...problems, ...appProblems(c.apps)]
  },
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
