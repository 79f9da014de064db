import { MechaError } from '../../core/errors.ts'
import type { AdminBackend, AdminBinding, AdminLogLine, AdminStatusEvent } from '../../edge/admin/backend.ts'

/** An in-test AdminBackend: canned answers, and a record of every call the routes made. */
export function fakeBackend (): AdminBackend & { calls: string[]; statusEventsOpen: number } {
  const calls: string[] = []
  const apps = new Map([['thermo', { id: 'thermo', state: 'running', pid: 42, restarts: 0 }]])
  const known = (id: string): void => { if (!apps.has(id)) throw new MechaError('ERR_APP_NOT_FOUND', `no app ${id}`) }
  const logLines = (n: number): AdminLogLine[] => Array.from({ length: Math.min(n, 3) }, (_, i) => ({ ts: `2024-01-01T00:00:0${i}.000Z`, stream: 'stdout', line: `line ${i}` }))
  const clients = new Set(['sensor/1', 'ws-1'])
  // State: per store, key → {value, etag}; an ETag is a counter, as the LevelDB store's.
  const stores = new Map<string, Map<string, { value: unknown; etag: string }>>([['statestore', new Map([
    ['sensor/1', { value: { temp: 21.5 }, etag: '1' }], ['greeting', { value: 'hello', etag: '1' }],
  ])]])
  const storeOf = (name: string): Map<string, { value: unknown; etag: string }> => {
    const s = stores.get(name)
    if (s === undefined) throw new MechaError('ERR_STATE_STORE_NOT_FOUND', `state store ${name} is not found`)
    return s
  }
  const checkEtag = (cur: { etag: string } | undefined, etag: string | undefined): void => {
    if (etag !== undefined && cur?.etag !== etag) throw new MechaError('ERR_ETAG_MISMATCH', `possible etag mismatch: ${etag}`)
  }
  let gpioLevel = 0
  const bindingList = (): AdminBinding[] => [
    { name: 'probe', type: 'bindings.serial', status: { type: 'open' }, counters: { events: 2, errors: 0, writes: 0, requests: 0 }, lastEvents: [{ ts: '2024-01-01T00:00:01.000Z', value: 21.5, raw: '21.5' }], operations: ['write', 'request'] },
    { name: 'relay', type: 'bindings.gpio', status: { type: 'open', level: gpioLevel }, counters: { writes: 0 }, lastEvents: [], operations: ['read', 'write', 'toggle'] },
  ]
  const backend = {
    calls,
    statusEventsOpen: 0,
    async status () { calls.push('status'); return { id: 'gw-test', version: '0.0.0', startedAt: '2024-01-01T00:00:00.000Z', uptimeSeconds: 5, parts: { broker: { type: 'listening' } } } },
    statusEvents (): AsyncIterable<AdminStatusEvent> {
      calls.push('statusEvents')
      return (async function * () {
        backend.statusEventsOpen++
        try {
          yield { part: 'cloud', status: { type: 'connected' }, at: '2024-01-01T00:00:01.000Z' }
          yield { part: 'cloud', status: { type: 'disconnected', reason: 'line\nbreak' }, at: '2024-01-01T00:00:02.000Z' }
          yield { part: 'broker', status: { type: 'listening', clients: 3 }, at: '2024-01-01T00:00:03.000Z' }
        } finally { backend.statusEventsOpen-- }
      })()
    },
    apps: {
      async list () { calls.push('apps.list'); return [...apps.values()] },
      async start (id: string) { known(id); calls.push(`apps.start ${id}`) },
      async stop (id: string) { known(id); calls.push(`apps.stop ${id}`) },
      async restart (id: string) { known(id); calls.push(`apps.restart ${id}`) },
      async logs (id: string, lines: number) { known(id); calls.push(`apps.logs ${id} ${lines}`); return logLines(lines) },
      followLogs (id: string, lines: number) {
        calls.push(`apps.followLogs ${id} ${lines}`)
        return (async function * (): AsyncGenerator<AdminLogLine> { yield * logLines(lines); yield { ts: '2024-01-01T00:00:09.000Z', stream: 'stderr', line: 'new' } })()
      },
    },
    components: {
      async list () { calls.push('components.list'); return [{ name: 'statestore', type: 'state.level', version: 'v1', builtIn: true, status: { type: 'ready' } }] },
      async validate (docs: unknown) { calls.push('components.validate'); return Array.isArray(docs) && docs.length > 0 ? [] : [{ path: 'components', message: 'must be a non-empty array' }] },
      async apply (docs: unknown) {
        calls.push('components.apply')
        if (!Array.isArray(docs)) throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'the components have problems', { details: [{ path: 'components', message: 'must be an array' }] })
        return { reloaded: ['components'] }
      },
    },
    config: {
      async get () { calls.push('config.get'); return { config: { id: 'gw-test' }, file: '/tmp/mecha.yaml', canRollback: false } },
      async validate (doc: unknown) { calls.push('config.validate'); return (doc as { id?: unknown } | undefined)?.id === 'bad id' ? [{ path: 'id', message: 'must be 1-63 letters' }] : [] },
      async apply (doc: unknown) {
        calls.push('config.apply')
        const problems = await backend.config.validate(doc)
        if (problems.length > 0) throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'the configuration has 2 problems', { details: [...problems, { path: 'mqtt.port', message: 'must be an integer 0-65535' }] })
        return { reloaded: ['broker'] }
      },
      async rollback () { calls.push('config.rollback'); throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'no previous version to roll back to') },
    },
    async cloud () { calls.push('cloud'); return { configured: true, status: { type: 'connected' }, outbox: { queued: 2, bytes: 10, maxBytes: 100, accepted: 5, delivered: 3, dropped: 0 } } },
    mqtt: {
      async clients () { calls.push('mqtt.clients'); return [...clients].map((id) => ({ id })) },
      async disconnect (id: string) {
        if (!clients.has(id)) throw new MechaError('MECHA_ERR_MQTT_CLIENT_NOT_FOUND', `no client ${id}`)
        calls.push(`mqtt.disconnect ${id}`)
      },
    },
    state: {
      async stores () { calls.push('state.stores'); return [...stores.keys()] },
      async keys (store: string, q: { prefix: string; page: number; pageSize: number }) {
        calls.push(`state.keys ${store} ${q.prefix} ${q.page} ${q.pageSize}`)
        const all = [...storeOf(store).keys()].filter((k) => k.startsWith(q.prefix)).sort()
        const from = q.page * q.pageSize
        return { keys: all.slice(from, from + q.pageSize), more: all.length > from + q.pageSize }
      },
      async get (store: string, key: string) { calls.push(`state.get ${store} ${key}`); return storeOf(store).get(key) },
      async set (store: string, key: string, value: unknown, etag?: string) {
        calls.push(`state.set ${store} ${key}`)
        const s = storeOf(store)
        const cur = s.get(key)
        checkEtag(cur, etag)
        const next = { value, etag: String(Number(cur?.etag ?? 0) + 1) }
        s.set(key, next)
        return { etag: next.etag }
      },
      async delete (store: string, key: string, etag?: string) {
        calls.push(`state.delete ${store} ${key}`)
        const s = storeOf(store)
        checkEtag(s.get(key), etag)
        s.delete(key)
      },
    },
    bindings: {
      async list () { calls.push('bindings.list'); return bindingList() },
      async invoke (name: string, req: { operation: string; data?: unknown; metadata?: Record<string, string> }) {
        calls.push(`bindings.invoke ${name} ${req.operation}`)
        const b = bindingList().find((x) => x.name === name)
        if (b === undefined) throw new MechaError('ERR_BINDING_NOT_FOUND', `no binding ${name}`)
        if (!b.operations.includes(req.operation)) throw new MechaError('MECHA_ERR_BINDING_OPERATION', `${name} does not support ${req.operation}`)
        if (name === 'probe') return req.operation === 'request' ? { data: `echo:${String(req.data)}` } : {}
        if (req.operation === 'toggle') gpioLevel = 1 - gpioLevel
        else if (req.operation === 'write') gpioLevel = Number(req.data) === 1 ? 1 : 0
        return { data: { level: gpioLevel } }
      },
    },
  }
  return backend
}
