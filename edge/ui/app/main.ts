/**
 * The gateway's web UI: Preact + htm (no JSX step), bundled by esbuild (edge/ui/dev-bundle.ts) into
 * edge/ui/static/gen/. Talks only to its own origin: the admin API, its SSE streams and MQTT over WebSocket.
 */
import 'uplot/dist/uPlot.min.css'
import './styles.css'
import { html, render, useEffect, useRef, useState } from './html.ts'
import { api, ApiError, onSessionLost, setCsrfToken } from './api.ts'
import { linkClick, navigate, usePath } from './router.ts'
import { SignIn } from './pages/login.ts'
import { Overview } from './pages/overview.ts'
import { Components } from './pages/components.ts'
import { Cloud } from './pages/cloud.ts'
import { Messages } from './pages/messages.ts'
import { StatePage } from './pages/state.ts'
import { Devices } from './pages/devices.ts'
import { Apps } from './pages/apps.ts'
import { Access } from './pages/access.ts'

const PAGES = [
  { path: '/', name: 'Overview', view: Overview },
  { path: '/components', name: 'Components', view: Components },
  { path: '/cloud', name: 'Cloud', view: Cloud },
  { path: '/messages', name: 'Messages', view: Messages },
  { path: '/state', name: 'State', view: StatePage },
  { path: '/devices', name: 'Devices', view: Devices },
  { path: '/apps', name: 'Apps', view: Apps },
  { path: '/access', name: 'Access', view: Access },
] as const

type Auth = 'loading' | 'setup' | 'signin' | 'ok' | 'down'

function App () {
  const [auth, setAuth] = useState<Auth>('loading')
  const [expired, setExpired] = useState(false)
  const [notice, setNotice] = useState('')
  const path = usePath()
  const first = useRef(true)

  useEffect(() => {
    onSessionLost((code) => {
      setAuth(code === 'MECHA_ERR_UI_SETUP_REQUIRED' ? 'setup' : 'signin')
      setExpired(true)
    })
    api('GET', '/admin/api/session', undefined, { quiet401: true }).then((s) => {
      setCsrfToken(s.csrfToken)
      setAuth('ok')
    }, (err: ApiError) => {
      setAuth(err.code === 'MECHA_ERR_UI_SETUP_REQUIRED' ? 'setup' : err.status === 401 ? 'signin' : 'down')
    })
  }, [])

  // After a route change, the page's heading takes the focus (screen readers announce the new page).
  useEffect(() => {
    if (first.current) { first.current = false; return }
    document.getElementById('page-title')?.focus()
  }, [path])

  const page = PAGES.find((p) => p.path === path) ?? PAGES.find((p) => p.path !== '/' && path.startsWith(p.path + '/'))
  useEffect(() => { document.title = `${page?.name ?? 'Not found'} · Mecha` }, [page])

  if (auth === 'loading') return html`<main class="signin"><p>Loading…</p></main>`
  if (auth === 'down') return html`<main class="signin"><p class="banner error" role="alert">The gateway’s admin API does not answer. Reload the page to try again.</p></main>`
  if (auth !== 'ok') {
    return html`<${SignIn} mode=${auth} expired=${expired} onDone=${(setup: boolean) => {
      setExpired(false)
      setNotice(setup ? 'Password set. You are signed in.' : '')
      setAuth('ok')
    }} />`
  }

  const signOut = async (): Promise<void> => {
    try { await api('POST', '/admin/api/logout', undefined, { quiet401: true }) } catch { /* gone already */ }
    setCsrfToken('')
    setExpired(false)
    setAuth('signin')
    navigate('/')
  }

  const View = page?.view
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">Mecha</span>
      <nav aria-label="Main">
        <ul>${PAGES.map((p) => html`<li><a href=${p.path} onClick=${linkClick} aria-current=${p === page ? 'page' : undefined}>${p.name}</a></li>`)}</ul>
      </nav>
      <button type="button" class="signout" onClick=${signOut}>Sign out</button>
    </header>
    <main id="main">
      ${notice !== '' ? html`<p class="banner ok" role="status">${notice} <button type="button" class="link" onClick=${() => { setNotice('') }}>Dismiss</button></p>` : ''}
      ${View !== undefined ? html`<${View} key=${page!.path} />` : html`<section class="page"><h1 id="page-title" tabindex="-1">Not found</h1><p>No page at <code>${path}</code>. <a href="/" onClick=${linkClick}>Overview</a></p></section>`}
    </main>`
}

render(html`<${App} />`, document.getElementById('app')!)
