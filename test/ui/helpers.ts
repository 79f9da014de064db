/**
 * Browser tests of the web UI: headless Chromium driven by playwright-core, against the UI server (in-process
 * with a fake backend, or the runtime as `npm start` runs it). Screenshots go to test/artifacts/ (git-ignored).
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import { chromium, type Browser, type Page } from 'playwright-core'
import { MechaError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { UiServer } from '../../edge/ui/server.ts'
import { fakeBackend } from '../admin/fake-backend.ts'
import { tmpDir } from '../helpers/tmp.ts'

export const CHROMIUM = process.env.MECHA_CHROMIUM ?? '/usr/bin/chromium'
export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts')
export const PASSWORD = 'correct horse battery'
export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }
export const PAGES = ['Overview', 'Components', 'Cloud', 'Messages', 'State', 'Devices', 'Apps', 'Access'] as const

/** The browser, or undefined with the reason printed (no Chromium on this machine). */
export async function launch (): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) { console.log(`skipped: no Chromium at ${CHROMIUM} (set MECHA_CHROMIUM)`); return undefined }
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    timeout: 30_000,
  })
}

export async function shot (page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

/** No horizontal scrolling at this width: the page is no wider than the viewport. */
export async function scrollWidth (page: Page): Promise<{ scroll: number; client: number }> {
  return await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, client: document.scrollingElement!.clientWidth }))
}

/** Any request the page made to another origin (the UI must make none). */
export function watchOrigins (page: Page, origin: string): string[] {
  const outside: string[] = []
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith(origin) && !u.startsWith('ws://' + origin.slice(7)) && !u.startsWith('data:')) outside.push(u) })
  return outside
}

/**
 * The fake admin backend with a memory of its config and components, so the UI's edits show up again:
 * apply checks a serial binding's path and baud rate as devices/serial/validate.ts does.
 */
export function uiBackend (): ReturnType<typeof fakeBackend> & { mem: { docs: any[]; config: any } } {
  const base = fakeBackend()
  const state = {
    docs: [] as any[],
    config: { id: 'gw-test', mqtt: { host: '127.0.0.1', port: 1883, users: [], acl: [] }, api: { port: 3500 }, cloud: { url: 'mqtts://cloud.example:8883', username: 'gw', password: '(set)', forward: [{ from: 'sensors/#', to: 'gateways/{id}/', qos: 1, priority: 5 }], receive: [] } } as any,
    prev: undefined as any,
  }
  const check = (docs: unknown): Array<{ path: string; message: string }> => {
    if (!Array.isArray(docs)) return [{ path: 'components', message: 'must be an array' }]
    const problems: Array<{ path: string; message: string }> = []
    docs.forEach((d: any, i) => {
      const meta: Record<string, string> = Object.fromEntries((d?.spec?.metadata ?? []).map((m: any) => [m.name, String(m.value)]))
      if (d?.spec?.type === 'bindings.serial') {
        if (meta.path === undefined) problems.push({ path: `components[${i}].spec.metadata.path`, message: 'is required' })
        if (meta.baudRate !== undefined && !['9600', '19200', '115200'].includes(meta.baudRate)) problems.push({ path: `components[${i}].spec.metadata.baudRate`, message: 'must be a standard rate' })
        if (meta.path === '/dev/refused') problems.push({ path: `components[${i}].spec.metadata.path`, message: 'no such device on this gateway' })
      }
    })
    return problems
  }
  const b = Object.assign(base, {
    mem: state,
    async status () { return { id: 'gw-test', version: '0.1.0-test', startedAt: new Date(Date.now() - 3723_000).toISOString(), uptimeSeconds: 3723, memory: { rssBytes: 48 * 1024 * 1024, heapUsedBytes: 20 * 1024 * 1024 }, parts: { broker: { type: 'listening', clients: 3, messagesPerSecond: 12.5 }, cloud: { type: 'connected' }, 'apps.thermo': { type: 'running' } } } },
    async cloud () { return { configured: true, status: { type: 'connected' }, outbox: { queued: 42, bytes: 8192, maxBytes: 268435456, accepted: 1000, delivered: 958, dropped: 0, oldestQueuedAt: new Date(Date.now() - 95_000).toISOString() } } },
  })
  b.components = {
    async list () { return [{ name: 'statestore', type: 'state.level', version: 'v1', builtIn: true, status: { type: 'ready' } }, ...state.docs.map((d) => ({ name: d.metadata.name, type: d.spec.type, version: 'v1', builtIn: false, status: { type: 'open' } }))] },
    async validate (docs: unknown) { return check(docs) },
    async apply (docs: unknown) {
      const problems = check(docs)
      if (problems.length > 0) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `${problems.length} problem(s) in the config`, { details: problems })
      state.prev = structuredClone({ ...state.config, components: state.docs })
      state.docs = structuredClone(docs as any[])
      return { reloaded: ['components'] }
    },
  }
  b.config = {
    async get () { return { config: { ...structuredClone(state.config), components: structuredClone(state.docs) }, file: '/tmp/mecha.yaml', canRollback: state.prev !== undefined } },
    async validate () { return [] },
    async apply (doc: any) {
      if (doc?.cloud !== undefined && !/^(mqtts?|wss?):\/\//.test(doc.cloud.url ?? '')) throw new MechaError('MECHA_ERR_CONFIG_INVALID', '1 problem', { details: [{ path: 'cloud.url', message: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' }] })
      if (doc?.cloud?.url === 'mqtts://refused.example') throw new MechaError('MECHA_ERR_CONFIG_INVALID', '1 problem', { details: [{ path: 'cloud.url', message: 'host refused by the server' }] })
      state.prev = structuredClone({ ...state.config, components: state.docs })
      const { components, ...rest } = structuredClone(doc)
      state.config = rest
      if (Array.isArray(components)) state.docs = components
      return { reloaded: ['config'] }
    },
    async rollback () {
      if (state.prev === undefined) throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'no previous version to roll back to', { details: [{ path: '(file)', message: 'none' }] })
      const { components, ...rest } = state.prev
      state.config = rest; state.docs = components; state.prev = undefined
      return { reloaded: ['config'] }
    },
  }
  return b as any
}

export interface UiRig {
  url: string
  mqttUrl: string
  dataDir: string
  code: string
  backend: ReturnType<typeof uiBackend>
  close: () => Promise<void>
}

/** A real UI server on a loopback port 0 with the fake backend and an aedes broker behind /mqtt (and on TCP). */
export async function uiRig (): Promise<UiRig> {
  const dataDir = await tmpDir('mecha-ui')
  const logs: any[] = []
  const broker = await Aedes.createBroker()
  const tcp: Server = createServer(broker.handle)
  await new Promise<void>((resolve) => { tcp.listen(0, '127.0.0.1', resolve) })
  const backend = uiBackend()
  const ui = await UiServer.create({
    host: '127.0.0.1', port: 0, version: 'test', dataDir, backend, requireSessionForMqtt: true,
    log: createLogger({ level: 'info', pretty: false, write: (l) => { logs.push(JSON.parse(l)) } }),
    broker: { handle: (s) => { broker.handle(s as any) } },
  })
  const a = await ui.listen()
  const code = logs.find((l) => typeof l.setupCode === 'string')?.setupCode as string
  return {
    url: `http://127.0.0.1:${a.port}`,
    mqttUrl: `mqtt://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
    dataDir,
    code,
    backend,
    close: async () => {
      await ui.close()
      await new Promise<void>((resolve) => { tcp.close(() => { resolve() }) })
      await new Promise<void>((resolve) => { broker.close(() => { resolve() }) })
    },
  }
}

/** Fills a field found by its visible label. */
export async function fill (page: Page, label: string, value: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).fill(value)
}

/** First visit: the setup code and a new password. */
export async function setUp (page: Page, url: string, code: string, password = PASSWORD): Promise<void> {
  await page.goto(url + '/')
  await fill(page, 'Setup code', code)
  await fill(page, 'New password', password)
  await fill(page, 'Confirm password', password)
  await page.getByRole('button', { name: 'Set password' }).click()
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 10_000 })
}

export async function signIn (page: Page, password = PASSWORD): Promise<void> {
  await fill(page, 'Password', password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 10_000 })
}

export async function go (page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click()
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor({ timeout: 10_000 })
}
