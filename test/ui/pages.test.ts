/**
 * The web UI in a real browser (headless Chromium) against the UI server in this process with a fake admin
 * backend and an aedes broker: sign-in, every page, forms that validate and show the server's field errors.
 * test/ui/e2e.test.ts runs the same kind of flow against the runtime as `npm start` starts it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { connectCollecting } from '../helpers/mqtt.ts'
import { cleanupTmp } from '../helpers/tmp.ts'
import { DESKTOP, PAGES, PASSWORD, PHONE, fill, go, launch, scrollWidth, setUp, shot, signIn, uiRig, watchOrigins, type UiRig } from './helpers.ts'

interface Ctx { rig: UiRig; browser: Browser | undefined; ctx: BrowserContext; page: Page; outside: string[] }
const test = suite<Ctx>('ui pages')

test.before(async (c) => {
  c.browser = await launch()
  if (c.browser === undefined) return
  c.rig = await uiRig()
  c.ctx = await c.browser.newContext({ viewport: DESKTOP, baseURL: c.rig.url })
  c.page = await c.ctx.newPage()
  c.page.setDefaultTimeout(10_000)
  c.outside = watchOrigins(c.page, c.rig.url)
})
test.after(async (c) => {
  await c.browser?.close()
  await c.rig?.close()
  await cleanupTmp()
})

/** Skips a test (with the reason printed once in `launch`) when there is no browser. */
const it = (name: string, fn: (c: Ctx) => Promise<void>): void => { test(name, async (c) => { if (c.browser !== undefined) await fn(c) }) }

const banner = (page: Page, text: string | RegExp) => page.getByRole('status').filter({ hasText: text }).first().waitFor()

it('ui - first visit: the setup form checks its fields before it sends, then sets the password', async ({ page, rig }) => {
  await page.goto(rig.url + '/')
  await page.getByRole('heading', { name: 'Set up Mecha' }).waitFor()
  await shot(page, 'desktop-setup')
  await fill(page, 'Setup code', rig.code)
  await fill(page, 'New password', PASSWORD)
  await fill(page, 'Confirm password', 'something else')
  await page.getByRole('button', { name: 'Set password' }).click()
  await page.getByText('The two passwords differ.').waitFor()
  assert.is(await page.getByLabel('Confirm password').getAttribute('aria-invalid'), 'true')
  await fill(page, 'Confirm password', PASSWORD)
  await page.getByRole('button', { name: 'Set password' }).click()
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  await page.getByText('0.1.0-test').waitFor()
})

it('ui - the setup code stops working once used', async ({ rig }) => {
  const res = await fetch(rig.url + '/admin/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ setupCode: rig.code, newPassword: 'another password 1' }) })
  assert.is(res.status, 401)
})

it('ui - sign out, a wrong password at its field, sign in', async ({ page }) => {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { name: 'Sign in to Mecha' }).waitFor()
  await shot(page, 'desktop-signin')
  await fill(page, 'Password', 'not the password')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByText('Wrong password.').waitFor()
  await signIn(page)
})

it('ui - an expired session returns to sign-in, and after it to the page the person was on', async ({ page, ctx }) => {
  await go(page, 'Cloud')
  // End the session behind the page's back, as an idle timeout would.
  const s = await (await ctx.request.get('/admin/api/session')).json()
  assert.is((await ctx.request.post('/admin/api/logout', { headers: { 'x-csrf-token': s.csrfToken, 'content-type': 'application/json' } })).status(), 204)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'State', exact: true }).click()
  await page.getByText('Your session ended').waitFor()
  await signIn(page)
  await page.getByRole('heading', { level: 1, name: 'State' }).waitFor()
  assert.is(new URL(page.url()).pathname, '/state')
})

it('ui - components: add a serial binding through the form; errors at the field change nothing', async ({ page, rig }) => {
  await go(page, 'Components')
  await page.getByLabel('New component type').selectOption('bindings.serial')
  await page.getByRole('button', { name: 'Add component' }).click()
  await fill(page, 'Name', 'Bad Name')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.getByText('A DNS label').waitFor()
  await page.locator('.field.has-error', { hasText: 'Device path' }).getByRole('alert').waitFor() // required
  await fill(page, 'Name', 'probe')
  await fill(page, 'Device path', '/dev/refused')
  await page.getByRole('button', { name: 'Apply' }).click()
  // The server's problem `components[0].spec.metadata.path` shows at the Device path field.
  await page.locator('.field.has-error', { hasText: 'Device path' }).getByText('no such device on this gateway').waitFor()
  assert.equal(rig.backend.mem.docs, [], 'nothing applied')
  await fill(page, 'Device path', '/dev/ttyUSB0')
  await page.getByLabel('Baud rate').selectOption('115200')
  assert.match(await page.getByLabel('Document', { exact: true }).inputValue(), /value: "?115200"?/)
  await shot(page, 'desktop-components-form')
  await page.getByRole('button', { name: 'Apply' }).click()
  await banner(page, 'Applied.')
  await page.getByRole('cell', { name: 'probe', exact: true }).waitFor()
  assert.is(rig.backend.mem.docs[0].metadata.name, 'probe')
  assert.equal(rig.backend.mem.docs[0].spec.metadata, [{ name: 'path', value: '/dev/ttyUSB0' }, { name: 'baudRate', value: '115200' }])
  // Rollback is offered now that there is a previous version.
  await page.getByRole('button', { name: 'Roll back' }).click()
  await banner(page, 'Rolled back')
  assert.equal(rig.backend.mem.docs, [])
})

it('ui - messages: publish from the form reaches an MQTT client; an MQTT client’s message shows live', async ({ page, rig }) => {
  const { client, messages } = await connectCollecting(rig.mqttUrl)
  try {
    await new Promise<void>((resolve, reject) => { client.subscribe('ui/#', { qos: 1 }, (err) => { if (err != null) reject(err); else resolve() }) })
    await go(page, 'Messages')
    await page.getByText('Connected', { exact: true }).waitFor()
    await fill(page, 'Topic filter', 'sensors/#/x')
    await page.getByRole('button', { name: 'Subscribe' }).click()
    await page.getByText('# only as the last level').waitFor()
    await fill(page, 'Topic filter', 'sensors/#')
    await page.getByRole('button', { name: 'Subscribe' }).click()
    await page.getByRole('list', { name: 'Subscriptions' }).getByText('sensors/#').waitFor()
    await fill(page, 'Topic', 'ui/+')
    await page.getByRole('button', { name: 'Publish' }).click()
    await page.getByText('no + or # wildcards').waitFor()
    await fill(page, 'Topic', 'ui/hello')
    await fill(page, 'Payload', '{"from":"browser"}')
    await page.getByLabel('QoS').selectOption('1')
    await page.getByRole('button', { name: 'Publish' }).click()
    await banner(page, 'Published to ui/hello')
    const [got] = await messages.waitFor(1)
    assert.equal([got.topic, got.payload, got.qos], ['ui/hello', '{"from":"browser"}', 1])
    await new Promise<void>((resolve) => { client.publish('sensors/t1', '{"temp":21.5}', { qos: 1, retain: true }, () => { resolve() }) })
    await new Promise<void>((resolve) => { client.publish('sensors/raw', Buffer.from([0, 1, 2, 255]), { qos: 0 }, () => { resolve() }) })
    const list = page.getByRole('list', { name: 'Received messages' })
    await list.getByText('sensors/t1').waitFor()
    await list.getByText('"temp": 21.5').waitFor()
    await list.getByText('00 01 02 ff').waitFor()
    await shot(page, 'desktop-messages-live')
    await page.getByRole('button', { name: 'Pause' }).click()
    await new Promise<void>((resolve) => { client.publish('sensors/while-paused', 'x', { qos: 0 }, () => { resolve() }) })
    await page.getByRole('button', { name: /Resume \(1 skipped\)/ }).waitFor()
    assert.is(await list.getByText('sensors/while-paused').count(), 0)
  } finally { client.end(true) }
})

it('ui - state: edit a value with its ETag; invalid JSON and a stale ETag show at the field and change nothing', async ({ page, rig }) => {
  await go(page, 'State')
  await page.getByRole('button', { name: 'greeting' }).click()
  await page.getByText('ETag 1').waitFor()
  await fill(page, 'Value (JSON)', 'hi there')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText('Not valid JSON').waitFor()
  assert.is((await rig.backend.state!.get('statestore', 'greeting'))!.value, 'hello')
  await fill(page, 'Value (JSON)', '"hi there"')
  await page.getByRole('button', { name: 'Save' }).click()
  await banner(page, 'Saved greeting (ETag 2)')
  assert.equal(await rig.backend.state!.get('statestore', 'greeting'), { value: 'hi there', etag: '2' })
  // Someone else writes meanwhile: the page's ETag 2 is stale.
  await rig.backend.state!.set('statestore', 'greeting', 'from an app')
  await fill(page, 'Value (JSON)', '"mine"')
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByText('Someone changed this value').waitFor()
  assert.is((await rig.backend.state!.get('statestore', 'greeting'))!.value, 'from an app')
  await fill(page, 'Key prefix', 'sens')
  await page.getByRole('button', { name: 'Show keys' }).click()
  // The unfiltered list also holds sensor/1: wait for the filtered one (greeting gone), not for sensor/1 alone.
  await page.getByRole('button', { name: 'greeting' }).waitFor({ state: 'detached', timeout: 5000 })
  await page.getByRole('button', { name: 'sensor/1' }).waitFor()
  assert.is(await page.getByRole('button', { name: 'greeting' }).count(), 0)
})

it('ui - cloud: bad URL checked before sending, the server’s problem at its field; test and drop report their routes', async ({ page, rig }) => {
  await go(page, 'Cloud')
  // The form fills from the config when it has loaded: typing before that is overwritten (seen under load).
  const url = page.getByLabel('Broker URL', { exact: true })
  for (let i = 0; i < 100 && await url.inputValue() !== 'mqtts://cloud.example:8883'; i++) await page.waitForTimeout(100)
  assert.is(await url.inputValue(), 'mqtts://cloud.example:8883', 'the form shows the loaded config')
  await fill(page, 'Broker URL', 'http://nope')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.getByText('An mqtt://, mqtts://').waitFor()
  await fill(page, 'Broker URL', 'mqtts://refused.example')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.locator('.field.has-error', { hasText: 'Broker URL' }).getByText('host refused by the server').waitFor()
  assert.is(rig.backend.mem.config.cloud.url, 'mqtts://cloud.example:8883')
  await fill(page, 'Broker URL', 'mqtts://cloud2.example:8883')
  await fill(page, 'CA certificate', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
  await page.getByRole('button', { name: 'Apply' }).click()
  await banner(page, 'Applied.')
  assert.is(rig.backend.mem.config.cloud.url, 'mqtts://cloud2.example:8883')
  assert.is(rig.backend.mem.config.cloud.password, '(set)', 'the redacted password came back unchanged')
  assert.match(rig.backend.mem.config.cloud.ca, /BEGIN CERTIFICATE/)
  await page.getByRole('button', { name: 'Test connection' }).click()
  await page.getByText('no connection test').waitFor()
  await page.getByRole('button', { name: 'Drop queued messages' }).click()
  await page.getByRole('alertdialog').getByRole('button', { name: 'Drop them' }).click()
  await page.getByText('cannot drop queued messages yet').waitFor()
})

it('ui - devices: a serial request and its reply; a GPIO toggle', async ({ page, rig }) => {
  await go(page, 'Devices')
  await page.getByRole('button', { name: 'Send request' }).click()
  await page.getByRole('alert').getByText('Required.').waitFor()
  await fill(page, 'Line to send to probe', 'READ')
  await page.getByRole('button', { name: 'Send request' }).click()
  await banner(page, 'Reply: echo:READ')
  await page.getByRole('button', { name: 'Toggle relay' }).click()
  await banner(page, 'Level: 1')
  assert.ok(rig.backend.calls.includes('bindings.invoke relay toggle'))
})

it('ui - apps: restart and the live log', async ({ page, rig }) => {
  await go(page, 'Apps')
  await page.getByRole('button', { name: 'Restart thermo' }).click()
  await banner(page, 'thermo: restart done.')
  assert.ok(rig.backend.calls.includes('apps.restart thermo'))
  await page.getByRole('button', { name: 'Log of thermo' }).click()
  await page.getByLabel('Log of thermo', { exact: true }).getByText('line 2').waitFor()
})

it('ui - access: a broker user and an ACL rule through config apply; the API token shown once', async ({ page, rig }) => {
  await go(page, 'Access')
  await page.getByRole('button', { name: 'Add user' }).click()
  await fill(page, 'User 1: username', 'sensor')
  await fill(page, 'User 1: password', 'short')
  await page.getByRole('button', { name: 'Apply users and rules' }).click()
  await page.getByText('At least 8 characters.', { exact: true }).first().waitFor()
  assert.equal(rig.backend.mem.config.mqtt.users, [])
  await fill(page, 'User 1: password', 'long enough 1')
  await page.getByRole('button', { name: 'Add rule' }).click()
  await fill(page, 'Rule 1: topic filter', 'sensors/%u/#')
  await fill(page, 'Rule 1: user', 'sensor')
  await page.getByRole('button', { name: 'Apply users and rules' }).click()
  await banner(page, 'Applied.')
  assert.equal(rig.backend.mem.config.mqtt.users, [{ username: 'sensor', password: 'long enough 1' }])
  assert.equal(rig.backend.mem.config.mqtt.acl, [{ user: 'sensor', topic: 'sensors/%u/#', access: 'both', allow: true }])
  await page.getByRole('button', { name: 'Generate token' }).click()
  const token = await page.getByLabel('New API token').inputValue()
  assert.ok(token.length >= 40)
  assert.is(rig.backend.mem.config.api.token, token)
  await page.getByRole('button', { name: 'Done' }).click()
  assert.is(await page.getByLabel('New API token').count(), 0, 'shown once')
  await page.getByRole('button', { name: 'Rotate token' }).waitFor()
})

it('ui - every page at desktop and phone width, no horizontal scrolling, keyboard reachable', async ({ page }) => {
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    await page.setViewportSize(size)
    for (const name of PAGES) {
      await go(page, name)
      await page.waitForTimeout(name === 'Overview' ? 2500 : 400)
      const w = await scrollWidth(page)
      assert.ok(w.scroll <= w.client, `${name} at ${label}: scrollWidth ${w.scroll} > ${w.client}`)
      await shot(page, `${label}-${name.toLowerCase()}`)
    }
  }
  await page.setViewportSize(DESKTOP)
  // Keyboard: Tab from the top reaches the navigation; Enter on a link changes the page.
  await page.goto(page.url().replace(/\/[^/]*$/, '/apps'))
  await page.getByRole('heading', { level: 1, name: 'Apps' }).waitFor()
  let reached = false
  for (let i = 0; i < 6 && !reached; i++) {
    await page.keyboard.press('Tab')
    reached = await page.evaluate(() => document.activeElement?.textContent === 'Overview')
  }
  assert.ok(reached, 'Tab reaches the Overview link')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  // Every control has a visible label.
  for (const name of PAGES) {
    await go(page, name)
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')].filter((el) => {
      const e = el as HTMLInputElement
      return e.type !== 'hidden' && (e.labels === null || e.labels.length === 0 || [...e.labels].every((l) => l.textContent!.trim() === ''))
    }).map((el) => el.outerHTML.slice(0, 80)))
    assert.equal(unlabelled, [], `${name}: controls without a label`)
  }
})

it('ui - made no request to any other origin', async ({ outside }) => {
  assert.equal(outside, [])
})

it('ui - no page or admin call works without a session; a cross-site form post is refused', async ({ browser, rig, page: signedIn }) => {
  const anon = await browser!.newContext({ viewport: PHONE })
  try {
    const page = await anon.newPage()
    await page.goto(rig.url + '/cloud')
    await page.getByRole('heading', { name: 'Sign in to Mecha' }).waitFor()
    await shot(page, 'phone-signin')
    for (const path of ['/admin/api/status', '/admin/api/config', '/admin/api/state', '/admin/api/state/statestore/greeting', '/admin/api/bindings']) {
      assert.is((await anon.request.get(rig.url + path)).status(), 401, path)
    }
  } finally { await anon.close() }

  // A page of another origin (another port) posts a form at the admin API with the signed-in browser.
  const evil: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end(`<form id="f" method="post" action="${rig.url}/admin/api/config/apply"><input name="id" value="pwned"></form><script>document.getElementById('f').submit()</script>`)
  })
  await new Promise<void>((resolve) => { evil.listen(0, '127.0.0.1', resolve) })
  const before = rig.backend.calls.filter((c) => c === 'config.apply').length
  try {
    const page = signedIn
    const answer = page.waitForResponse((r) => r.url().endsWith('/admin/api/config/apply'))
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)
    assert.is((await answer).status(), 403)
    assert.is(rig.backend.mem.config.id, 'gw-test')
    assert.is(rig.backend.calls.filter((c) => c === 'config.apply').length, before)
  } finally { await new Promise<void>((resolve) => { evil.close(() => { resolve() }) }) }
})

test.run()
