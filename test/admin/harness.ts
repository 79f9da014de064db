import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ManualClock } from '../../core/clock.ts'
import { createLogger, type Logger } from '../../core/logger.ts'
import { UiServer, type UiServerOptions } from '../../edge/ui/server.ts'
import { tmpDir } from '../helpers/tmp.ts'
import { fakeBackend } from './fake-backend.ts'

export const PASSWORD = 'correct horse battery'

export interface Rig {
  ui: UiServer
  clock: ManualClock
  dataDir: string
  backend: ReturnType<typeof fakeBackend>
  logs: Array<Record<string, unknown>>
  /** The setup code as the runtime logged it. */
  code: string | undefined
  streams: unknown[]
}

/** A memory log that keeps every record (as JSON lines parsed). */
export function memoryLog (into: Array<Record<string, unknown>>): Logger {
  return createLogger({ level: 'debug', pretty: false, write: (line) => { into.push(JSON.parse(line) as Record<string, unknown>) } })
}

/** A UI server on a fresh data dir with a fake backend and a manual clock (fastify inject, no listener). */
export async function rig (opts: Partial<UiServerOptions> & { dataDir?: string } = {}): Promise<Rig> {
  const logs: Array<Record<string, unknown>> = []
  const clock = new ManualClock(Date.parse('2024-01-01T00:00:00Z'))
  const dataDir = opts.dataDir ?? await tmpDir('mecha-admin')
  const backend = fakeBackend()
  const streams: unknown[] = []
  const ui = await UiServer.create({
    host: '127.0.0.1', port: 0, log: memoryLog(logs), version: 'test', dataDir, backend, clock,
    broker: { handle: (s) => { streams.push(s) } },
    requireSessionForMqtt: true,
    ...opts,
  })
  const code = logs.find((l) => typeof l.setupCode === 'string')?.setupCode as string | undefined
  return { ui, clock, dataDir, backend, logs, code, streams }
}

export const setupCodeFile = (dataDir: string): Promise<string> => readFile(join(dataDir, 'admin-setup-code'), 'utf8')

export interface Inject { method?: string; url: string; body?: unknown; headers?: Record<string, string>; remoteAddress?: string }

export async function call (r: Rig, req: Inject): Promise<{ status: number; body: any; headers: Record<string, unknown>; text: string }> {
  const res = await r.ui.app.inject({
    method: (req.method ?? 'GET') as 'GET',
    url: req.url,
    headers: { host: 'gw.local:8080', ...(req.body === undefined ? {} : { 'content-type': 'application/json' }), ...req.headers },
    payload: req.body === undefined ? undefined : JSON.stringify(req.body),
    remoteAddress: req.remoteAddress,
  })
  let body: unknown
  try { body = JSON.parse(res.body) } catch { body = undefined }
  return { status: res.statusCode, body, headers: res.headers, text: res.body }
}

export interface Login { cookie: string; csrf: string; setCookie: string }

function loginOf (res: { status: number; body: any; headers: Record<string, unknown> }): Login {
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`)
  const setCookie = String(res.headers['set-cookie'])
  return { cookie: setCookie.split(';')[0], csrf: res.body.csrfToken, setCookie }
}

/** First login with the logged setup code, setting PASSWORD. */
export async function firstLogin (r: Rig): Promise<Login> {
  return loginOf(await call(r, { method: 'POST', url: '/admin/api/login', body: { setupCode: r.code, newPassword: PASSWORD } }))
}

export async function login (r: Rig, password = PASSWORD, remoteAddress?: string): Promise<Login> {
  return loginOf(await call(r, { method: 'POST', url: '/admin/api/login', body: { password }, remoteAddress }))
}

/** Headers of a same-origin browser request with the session and its CSRF token. */
export const authed = (l: Login): Record<string, string> => ({ cookie: l.cookie, 'x-csrf-token': l.csrf, origin: 'http://gw.local:8080', 'sec-fetch-site': 'same-origin' })

/** Every admin route, for the "nothing answers without a session" check. */
export const ADMIN_ROUTES: Array<[string, string]> = [
  ['GET', '/admin/api/session'], ['POST', '/admin/api/logout'], ['POST', '/admin/api/password'],
  ['GET', '/admin/api/status'], ['GET', '/admin/api/status/stream'],
  ['GET', '/admin/api/apps'], ['POST', '/admin/api/apps/thermo/start'], ['POST', '/admin/api/apps/thermo/stop'], ['POST', '/admin/api/apps/thermo/restart'],
  ['GET', '/admin/api/apps/thermo/logs?lines=5'], ['GET', '/admin/api/apps/thermo/logs?follow=1'],
  ['GET', '/admin/api/components'], ['POST', '/admin/api/components/validate'], ['POST', '/admin/api/components/apply'],
  ['GET', '/admin/api/config'], ['POST', '/admin/api/config/validate'], ['POST', '/admin/api/config/apply'], ['POST', '/admin/api/config/rollback'],
  ['GET', '/admin/api/cloud'], ['GET', '/admin/api/mqtt/clients'], ['POST', '/admin/api/mqtt/clients/ws-1/disconnect'],
  ['GET', '/admin/api/no-such-route'], ['DELETE', '/admin/api/apps/thermo'],
]
