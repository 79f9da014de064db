/**
 * The web UI end to end: the runtime started as `npm start` starts it (its own process, a config file, a
 * fresh data dir), driven by headless Chromium — first sign-in with the setup code, a serial binding added
 * through the form and seen in /v1.0/metadata, MQTT both ways through the Messages page, a state edit, an
 * invalid edit that changes nothing, phone width, no way in without a session or from another site.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { connectCollecting } from '../helpers/mqtt.ts'
import { spawnRuntime, testConfig, type Spawned } from '../helpers/runtime.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { DESKTOP, PAGES, PHONE, fill, go, launch, scrollWidth, setUp, shot, signIn, watchOrigins } from './helpers.ts'

interface Ctx { rt: Spawned; browser: Browser | undefined; ctx: BrowserContext; page: Page; url: string; api: string; mqtt: string; dataDir: string; code: string; outside: string[] }
const test = suite<Ctx>('ui e2e')

test.before(async (c) => {
  c.browser = await launch()
  if (c.browser === undefined) return
  const config = await testConfig({ log: { level: 'info' } })
  c.dataDir = config.dataDir
  c.rt = await spawnRuntime({ config, timeoutMs: 60_000 })
  const a = c.rt.addresses
  c.url = `http://127.0.0.1:${a.ui.port}`
  c.api = `http://127.0.0.1:${a.api.port}`
  c.mqtt = `mqtt://127.0.0.1:${a.mqtt.port}`
  c.code = (await readFile(join(c.dataDir, 'admin-setup-code'), 'utf8')).trim()
  c.ctx = await c.browser.newContext({ viewport: DESKTOP, baseURL: c.url })
  c.page = await c.ctx.newPage()
  c.page.setDefaultTimeout(15_000)
  c.outside = watchOrigins(c.page, c.url)
})
test.after(async (c) => {
  await c.browser?.close()
  await c.rt?.stop()
  await cleanupTmp()
})

const it = (name: string, fn: (c: Ctx) => Promise<void>): void => { test(name, async (c) => { if (c.browser !== undefined) await fn(c) }) }
const banner = (page: Page, text: string | RegExp) => page.getByRole('status').filter({ hasText: text }).first().waitFor()
const metadataNames = async (api: string): Promise<string[]> => ((await (await fetch(`${api}/v1.0/metadata`)).json()).components as Array<{ name: string }>).map((c) => c.name)

it('ui e2e - no page or admin call works before sign-in', async ({ url }) => {
  for (const path of ['/admin/api/status', '/admin/api/config', '/admin/api/components']) {
    const res = await fetch(url + path)
    assert.is(res.status, 401, path)
    assert.is((await res.json()).errorCode, 'MECHA_ERR_UI_SETUP_REQUIRED')
  }
})

it('ui e2e - first sign-in with the setup code sets the password; sign out and in', async ({ page, url, code }) => {
  await setUp(page, url, code)
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await signIn(page)
})

it('ui e2e - the setup code stops working once used', async ({ url, code }) => {
  const res = await fetch(url + '/admin/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ setupCode: code, newPassword: 'another password 1' }) })
  assert.is(res.status, 401)
})

it('ui e2e - a serial binding added through the form shows in /v1.0/metadata; an invalid one changes nothing', async ({ page, api }) => {
  await go(page, 'Components')
  await page.getByLabel('New component type').selectOption('bindings.serial')
  await page.getByRole('button', { name: 'Add component' }).click()
  await fill(page, 'Name', 'probe')
  await fill(page, 'Device path', '/dev/ttyMECHA-test0')
  await page.getByLabel('Baud rate').selectOption('115200')
  await page.getByRole('button', { name: 'Apply' }).click()
  await banner(page, 'Applied.')
  await page.getByRole('cell', { name: 'probe', exact: true }).waitFor()
  assert.ok((await metadataNames(api)).includes('probe'), 'probe in /v1.0/metadata')

  // Invalid: a pattern without parse: regex — only the runtime's validator knows; its problem shows at the field.
  await page.getByRole('button', { name: 'Add component' }).click()
  await fill(page, 'Name', 'probe2')
  await fill(page, 'Device path', '/dev/ttyMECHA-test1')
  await fill(page, 'Pattern', '(?<t>\\d+)')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.locator('.field.has-error', { hasText: 'Pattern' }).getByRole('alert').waitFor()
  await shot(page, 'e2e-desktop-component-error')
  assert.not.ok((await metadataNames(api)).includes('probe2'), 'nothing applied')
  await page.getByRole('button', { name: 'Cancel' }).click()
})

it('ui e2e - publish from the Messages page reaches an MQTT client; an MQTT client’s message shows live', async ({ page, mqtt }) => {
  const { client, messages } = await connectCollecting(mqtt)
  try {
    await new Promise<void>((resolve, reject) => { client.subscribe('ui/#', { qos: 1 }, (err) => { if (err != null) reject(err); else resolve() }) })
    await go(page, 'Messages')
    await page.getByText('Connected', { exact: true }).waitFor()
    await fill(page, 'Topic filter', 'sensors/#')
    await page.getByRole('button', { name: 'Subscribe' }).click()
    await page.getByRole('list', { name: 'Subscriptions' }).getByText('sensors/#').waitFor()
    await fill(page, 'Topic', 'ui/hello')
    await fill(page, 'Payload', 'from the browser')
    await page.getByLabel('QoS').selectOption('1')
    await page.getByRole('button', { name: 'Publish' }).click()
    const [got] = await messages.waitFor(1, 15_000)
    assert.equal([got.topic, got.payload, got.qos], ['ui/hello', 'from the browser', 1])
    await new Promise<void>((resolve) => { client.publish('sensors/t1', '{"temp":22.25}', { qos: 1 }, () => { resolve() }) })
    await page.getByRole('list', { name: 'Received messages' }).getByText('"temp": 22.25').waitFor()
    await shot(page, 'e2e-desktop-messages')
  } finally { client.end(true) }
})

it('ui e2e - edit a state value; invalid JSON shows at the field and changes nothing', async ({ page, url, api, ctx }) => {
  if ((await ctx.request.get(url + '/admin/api/state')).status() === 404) {
    console.log('skipped (state part): the runtime\'s AdminBackend has no `state` group yet (routes/state.ts answers 404)')
    return
  }
  await fetch(`${api}/v1.0/state/statestore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'ui-key', value: { on: false } }]) })
  // The API scoped the key to the caller's app id (the runtime's own id here), as Dapr does: the admin page
  // shows keys as they are stored.
  const id = (await (await fetch(`${api}/v1.0/metadata`)).json() as { id: string }).id
  await go(page, 'State')
  await fill(page, 'Key prefix', `${id}||ui-`)
  await page.getByRole('button', { name: 'Show keys' }).click()
  await page.getByRole('button', { name: `${id}||ui-key` }).click()
  // The value (and its ETag) loads after the click: typing before it arrives would be overwritten.
  await page.getByText(/ETag \d+/).waitFor()
  await fill(page, 'Value (JSON)', '{on: true')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText('Not valid JSON').waitFor()
  assert.equal(await (await fetch(`${api}/v1.0/state/statestore/ui-key`)).json(), { on: false })
  await fill(page, 'Value (JSON)', '{"on": true}')
  await page.getByRole('button', { name: 'Save' }).click()
  await banner(page, `Saved ${id}||ui-key`)
  assert.equal(await (await fetch(`${api}/v1.0/state/statestore/ui-key`)).json(), { on: true })
})

it('ui e2e - every page at desktop and phone width without horizontal scrolling', async ({ page }) => {
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    await page.setViewportSize(size)
    for (const name of PAGES) {
      await go(page, name)
      await page.waitForTimeout(name === 'Overview' ? 4500 : 500)
      const w = await scrollWidth(page)
      assert.ok(w.scroll <= w.client, `${name} at ${label}: scrollWidth ${w.scroll} > ${w.client}`)
      await shot(page, `e2e-${label}-${name.toLowerCase()}`)
    }
  }
  await page.setViewportSize(DESKTOP)
})

it('ui e2e - made no request to any other origin', async ({ outside }) => {
  assert.equal(outside, [])
})

it('ui e2e - a cross-site form post is refused; nothing changes', async ({ page, url, api }) => {
  const evil: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end(`<form id="f" method="post" action="${url}/admin/api/components/apply"><input name="components" value="[]"></form><script>document.getElementById('f').submit()</script>`)
  })
  await new Promise<void>((resolve) => { evil.listen(0, '127.0.0.1', resolve) })
  try {
    const answer = page.waitForResponse((r) => r.url().endsWith('/admin/api/components/apply'))
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)
    assert.is((await answer).status(), 403)
    assert.ok((await metadataNames(api)).includes('probe'), 'the components are as they were')
  } finally { await new Promise<void>((resolve) => { evil.close(() => { resolve() }) }) }
})

it('ui e2e - after sign-out no admin call works with the old cookie', async ({ page, url, ctx }) => {
  await page.goto(url + '/')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { name: 'Sign in to Mecha' }).waitFor()
  assert.is((await ctx.request.get(url + '/admin/api/status')).status(), 401)
})

test.run()
