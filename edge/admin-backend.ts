/**
 * The admin API's backend (edge/admin/backend.ts) over the runtime's parts. The composition root hands it a
 * view of what it owns — functions, not the parts' fields — so the admin routes never reach into the runtime.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { stringify as toYaml, parse as fromYaml } from 'yaml'
import type { ConfigProblem, MechaConfig } from '../core/config/index.ts'
import { MechaError } from '../core/errors.ts'
import { hashPassword } from '../core/passwords.ts'
import type { StateStore } from '../core/state/index.ts'
import { PushIterator } from '../core/push-iterator.ts'
import type { AppStatus, Supervisor } from '../core/supervisor/index.ts'
import type { HostedBindingInfo } from './bindings/index.ts'
import type { AdminApp, AdminBackend, AdminComponent, AdminLogLine, AdminStatusEvent, PartStatus } from './admin/backend.ts'
import type { MqttBroker } from './broker/index.ts'
import { previousOf, readConfigFile, rollbackConfigFile, writeConfigFile } from './reload/config-file.ts'
import type { ReloadOutcome } from './runtime.ts'

export interface AdminView {
  id: () => string
  version: string
  startedAt: number
  config: () => MechaConfig
  configFile: string | undefined
  /** Validates raw config text the way `mecha check` does (same pipeline); [] when it is fine. */
  validate: (raw: unknown) => Promise<ConfigProblem[]>
  reload: (why: string) => Promise<ReloadOutcome>
  /** Applies a parsed config when the runtime runs without a file (defaults only). */
  parts: () => Record<string, PartStatus>
  /** Status changes of every part, as the parts emit them. */
  subscribe: (fn: (e: AdminStatusEvent) => void) => () => void
  supervisor: () => Supervisor | undefined
  broker: MqttBroker
  components: () => AdminComponent[]
  cloud: () => ReturnType<AdminBackend['cloud']>
  /** The state stores by name, as the API sees them. */
  stateStores: () => ReadonlyMap<string, StateStore>
  bindings: () => readonly HostedBindingInfo[]
  invokeBinding: (name: string, operation: string, data: unknown, metadata: Record<string, string>) => Promise<{ data?: unknown; metadata?: Record<string, string> }>
  cloudActions: AdminBackend['cloudActions']
}

const REDACTED = '(set)'

/** Every part's status now, by name, for the admin API's snapshot. */
export function partsOf (p: { phase: string; broker: MqttBroker; cloud: { snapshot(): { status: { type: string }; ledger: unknown } } | undefined; apps: readonly AppStatus[]; bindings: readonly HostedBindingInfo[] }): Record<string, PartStatus> {
  const mem = process.memoryUsage()
  const parts: Record<string, PartStatus> = {
    runtime: { type: p.phase, memoryRss: mem.rss, heapUsed: mem.heapUsed },
    broker: { type: 'listening', ...p.broker.stats() },
    cloud: p.cloud === undefined ? { type: 'not-configured' } : { ...p.cloud.snapshot().status, ledger: p.cloud.snapshot().ledger },
  }
  for (const a of p.apps) parts[`apps.${a.id}`] = { ...a.state, restarts: a.restarts, health: a.health }
  for (const info of p.bindings) parts[`components.${info.name}`] = { ...info.status, counters: info.counters }
  return parts
}

/** The components as the admin API lists them: the built-in two, then the configured ones with their status. */
export function componentsOf (config: MechaConfig, bindings: readonly HostedBindingInfo[]): AdminComponent[] {
  const byName = new Map(bindings.map((i) => [i.name, i]))
  return [
    { name: 'statestore', type: 'state.level', version: 'v1', builtIn: true, status: { type: 'open' } },
    { name: 'pubsub', type: 'pubsub.mqtt', version: 'v1', builtIn: true, status: { type: 'open' } },
    ...config.components.map((c) => ({ name: c.metadata.name, type: c.spec.type, version: c.spec.version, builtIn: false, status: (byName.get(c.metadata.name)?.status ?? { type: 'open' }) as PartStatus })),
  ]
}

/** The config as a person may see it in a browser: password hashes and tokens replaced. */
function redact (config: MechaConfig): unknown {
  const c = structuredClone(config) as any
  for (const u of c.mqtt?.users ?? []) u.password = REDACTED
  if (c.api?.token !== undefined) c.api.token = REDACTED
  if (c.cloud?.password !== undefined) c.cloud.password = REDACTED
  return c
}

/**
 * Secrets the browser saw redacted come back as they are in force, unless the person replaced them. A broker
 * user's new password arrives in plain text (a browser cannot make scrypt hashes) and is hashed here, before
 * validation, as `mecha passwd --print` would.
 */
async function unredact (doc: any, current: MechaConfig): Promise<any> {
  const out = structuredClone(doc)
  const users = new Map((current.mqtt?.users ?? []).map((u) => [u.username, u.password]))
  for (const u of out?.mqtt?.users ?? []) {
    if (u.password === REDACTED) u.password = users.get(u.username)
    else if (typeof u.password === 'string' && !u.password.startsWith('scrypt$')) {
      if (u.password.length < 8) throw invalid([{ path: `mqtt.users[${(out.mqtt.users as unknown[]).indexOf(u)}].password`, message: 'must have at least 8 characters' }])
      u.password = await hashPassword(u.password)
    }
  }
  if (out?.api?.token === REDACTED) out.api.token = current.api.token
  if (out?.cloud?.password === REDACTED) out.cloud.password = current.cloud?.password
  return out
}

/**
 * Certificates pasted or uploaded in the browser arrive as PEM text in `cloud.ca/cert/key`, where the config
 * holds file paths: each is written to `<dataDir>/cloud-tls/<field>.pem` (owner-only; the cloud link re-reads
 * its files when they change) and the path takes its place.
 */
async function pemToFiles (doc: any, dataDir: string): Promise<any> {
  const cloud = doc?.cloud
  if (cloud === null || typeof cloud !== 'object') return doc
  const out = structuredClone(doc)
  for (const field of ['ca', 'cert', 'key'] as const) {
    const v = out.cloud[field]
    if (typeof v !== 'string' || !v.trimStart().startsWith('-----BEGIN ')) continue
    const dir = join(resolve(dataDir), 'cloud-tls')
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const file = join(dir, `${field}.pem`)
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, v.endsWith('\n') ? v : v + '\n', { mode: 0o600 })
    await rename(tmp, file)
    out.cloud[field] = file
  }
  return out
}

function invalid (problems: ConfigProblem[]): MechaError {
  return new MechaError('MECHA_ERR_CONFIG_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the config`, { details: problems })
}

/** Async iterable over a push source, ended by `return()` (the SSE code calls it when the client goes). */
function iterate<T> (subscribe: (push: (v: T) => void) => () => void, first: T[] = [], max = 1000): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator] (): AsyncIterator<T> {
      const it = new PushIterator<T>({ first, max, onEnd: () => { off() } })
      const off = subscribe((v) => { it.push(v) })
      return it
    },
  }
}

const logLine = (l: { ts: number; stream: string; line: string }): AdminLogLine => ({ ts: new Date(l.ts).toISOString(), stream: l.stream === 'stderr' ? 'stderr' : 'stdout', line: l.line })

export function createAdminBackend (v: AdminView): AdminBackend {
  const supervisor = (): Supervisor => {
    const s = v.supervisor()
    if (s === undefined) throw new MechaError('MECHA_ERR_NOT_READY', 'the apps are not started yet')
    return s
  }
  const storeOf = (name: string): StateStore => {
    const s = v.stateStores().get(name)
    if (s === undefined) throw new MechaError('ERR_STATE_STORE_NOT_FOUND', `state store ${name} is not found`)
    return s
  }
  const knownApp = (id: string): void => {
    if (!v.config().apps.some((a) => a.id === id)) throw new MechaError('ERR_APP_NOT_FOUND', `no app ${id}`)
  }

  /** Validates `doc`, writes it atomically (keeping the previous file) and reloads; refused with its problems. */
  const apply = async (doc: unknown): Promise<{ reloaded: string[] }> => {
    const full = await pemToFiles(await unredact(doc, v.config()), v.config().dataDir)
    const problems = await v.validate(full)
    if (problems.length > 0) throw invalid(problems)
    if (v.configFile === undefined) throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'the runtime runs without a config file: start it with --config FILE to change its config here', { details: [{ path: '(file)', message: 'no config file' }] })
    const text = /\.json$/i.test(v.configFile) ? JSON.stringify(full, null, 2) + '\n' : toYaml(full)
    await writeConfigFile(v.configFile, text)
    const outcome = await v.reload('admin API')
    if (!outcome.ok) {
      // The file is written but the reload failed: put the previous file back, so file and runtime agree.
      await rollbackConfigFile(v.configFile)
      throw invalid(outcome.problems)
    }
    return { reloaded: outcome.result.parts }
  }

  /** The file as written by a person (not the defaults-filled config), for edits that keep its shape. */
  const fileDoc = async (): Promise<any> => {
    if (v.configFile === undefined) return {}
    const text = await readFile(v.configFile, 'utf8')
    return /\.json$/i.test(v.configFile) ? JSON.parse(text) : (fromYaml(text) ?? {})
  }

  return {
    async status () {
      return { id: v.id(), version: v.version, startedAt: new Date(v.startedAt).toISOString(), uptimeSeconds: Math.round((Date.now() - v.startedAt) / 1000), parts: v.parts() }
    },
    statusEvents () {
      const now = new Date().toISOString()
      return iterate<AdminStatusEvent>((push) => v.subscribe(push), Object.entries(v.parts()).map(([part, status]) => ({ part, status, at: now })))
    },
    apps: {
      async list (): Promise<AdminApp[]> {
        const byId = new Map((v.supervisor()?.status() ?? []).map((s) => [s.id, s]))
        return v.config().apps.map((a) => {
          const s = byId.get(a.id)
          return { id: a.id, state: s?.state.type ?? 'stopped', restarts: s?.restarts ?? 0, command: a.command === undefined ? undefined : [a.command, ...(a.args ?? [])].join(' '), pid: (s?.state as { pid?: number } | undefined)?.pid }
        })
      },
      async start (id) { knownApp(id); supervisor().start(id) },
      async stop (id) { knownApp(id); await supervisor().stop(id) },
      async restart (id) { knownApp(id); await supervisor().restart(id) },
      async logs (id, lines) { knownApp(id); return (await supervisor().tail(id, lines)).map(logLine) },
      followLogs (id, lines) {
        knownApp(id)
        const s = supervisor()
        const controller = new AbortController()
        return {
          [Symbol.asyncIterator] (): AsyncIterator<AdminLogLine> {
            let backlog: AdminLogLine[] | undefined
            const live = s.follow(id, controller.signal)
            return {
              next: async () => {
                backlog ??= (await s.tail(id, lines)).map(logLine)
                if (backlog.length > 0) return { done: false, value: backlog.shift()! }
                if (live === undefined) return { done: true, value: undefined }
                const r = await live.next()
                return r.done === true ? { done: true, value: undefined } : { done: false, value: logLine(r.value) }
              },
              return: async () => { controller.abort(); await live?.return?.(); return { done: true, value: undefined } },
            }
          },
        }
      },
    },
    components: {
      async list () { return v.components() },
      async validate (docs) {
        if (!Array.isArray(docs)) return [{ path: 'components', message: 'must be a list of Component documents' }]
        return await v.validate({ ...(await unredact(await fileDoc(), v.config())), components: docs })
      },
      async apply (docs) {
        if (!Array.isArray(docs)) throw invalid([{ path: 'components', message: 'must be a list of Component documents' }])
        return await apply({ ...(await fileDoc()), components: docs })
      },
    },
    config: {
      async get () {
        const canRollback = v.configFile === undefined ? false : await readFile(previousOf(v.configFile)).then(() => true, () => false)
        return { config: redact(v.config()), file: v.configFile, canRollback }
      },
      async validate (doc) { return await v.validate(await unredact(doc, v.config())) },
      apply,
      async rollback () {
        if (v.configFile === undefined) throw invalid([{ path: '(file)', message: 'the runtime runs without a config file' }])
        const prev = await readConfigFile(previousOf(v.configFile)).catch(() => undefined)
        if (prev === undefined || !(await readFile(previousOf(v.configFile)).then(() => true, () => false))) throw invalid([{ path: '(file)', message: 'there is no previous version to roll back to' }])
        if (!prev.ok) throw invalid(prev.problems)
        await rollbackConfigFile(v.configFile)
        const outcome = await v.reload('admin API rollback')
        if (!outcome.ok) throw invalid(outcome.problems)
        return { reloaded: outcome.result.parts }
      },
    },
    cloud: () => v.cloud(),
    cloudActions: v.cloudActions === undefined ? undefined : {
      ...v.cloudActions,
      // The page shows the saved password as "(set)": test with the one in force unless it was replaced.
      test: async (section) => await v.cloudActions!.test((await unredact({ cloud: section }, v.config())).cloud),
    },
    state: {
      async stores () {
        const names = [...v.stateStores().keys()]
        return ['statestore', ...names.filter((n) => n !== 'statestore').sort()]
      },
      async keys (store, q) {
        // The query API in key order, read only as far as the page needs (bounded by page and size).
        const s = storeOf(store)
        const want = (q.page + 1) * q.pageSize + 1
        const keys: string[] = []
        let token: string | undefined
        do {
          const r = await s.query({ filter: {}, page: { limit: Math.min(want - keys.length, 1000), token } } as any, { prefix: q.prefix })
          for (const item of r.results) keys.push(item.key)
          token = r.token
        } while (token !== undefined && keys.length < want)
        keys.sort()
        return { keys: keys.slice(q.page * q.pageSize, (q.page + 1) * q.pageSize), more: keys.length > (q.page + 1) * q.pageSize }
      },
      async get (store, key) {
        const item = await storeOf(store).get(key)
        return item === undefined ? undefined : { value: Buffer.isBuffer(item.value) ? item.value.toString('base64') : item.value, etag: item.etag }
      },
      async set (store, key, value, etag) {
        const s = storeOf(store)
        await s.set({ key, value, ...(etag !== undefined ? { etag, concurrency: 'first-write' as const } : {}) })
        return { etag: (await s.get(key))?.etag ?? '' }
      },
      async delete (store, key, etag) {
        await storeOf(store).delete({ key, ...(etag !== undefined ? { etag, concurrency: 'first-write' as const } : {}) })
      },
    },
    bindings: {
      async list () {
        return v.bindings().map((b) => ({ name: b.name, type: b.type, status: b.status as PartStatus, counters: { ...b.counters } as unknown as Record<string, number>, lastEvents: b.lastEvents, operations: b.manifest?.operations ?? [] }))
      },
      async invoke (name, req) { return await v.invokeBinding(name, req.operation, req.data, req.metadata ?? {}) },
    },
    mqtt: {
      async clients () { return v.broker.clients() },
      async disconnect (clientId) {
        if (!v.broker.disconnectClient(clientId)) throw new MechaError('MECHA_ERR_MQTT_CLIENT_NOT_FOUND', `no MQTT client ${clientId} is connected`)
      },
    },
  }
}
