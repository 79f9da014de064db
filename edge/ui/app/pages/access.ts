/** Broker users and ACL rules, the API token (shown once), the UI password. Config changes go through apply. */
import { html, useEffect, useState } from '../html.ts'
import { api, ApiError } from '../api.ts'
import { applyConfig, filterProblem, loadConfig, problemsUnder, REDACTED } from '../config-apply.ts'
import { Banner, Check, Confirm, Ok, Page, Select, Text } from '../ui.ts'

interface User { username: string; password: string; isNew: boolean }
interface Rule { user: string; clientId: string; topic: string; access: string; allow: boolean }

function newToken (): string {
  const b = crypto.getRandomValues(new Uint8Array(32))
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function Users ({ cfg, done }: { cfg: any; done: (msg: string) => void }) {
  const [users, setUsers] = useState<User[]>((cfg.mqtt?.users ?? []).map((u: any) => ({ username: u.username, password: u.password, isNew: false })))
  const [rules, setRules] = useState<Rule[]>((cfg.mqtt?.acl ?? []).map((r: any) => ({ user: r.user ?? '', clientId: r.clientId ?? '', topic: r.topic, access: r.access ?? 'both', allow: r.allow !== false })))
  const [errs, setErrs] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>()

  const apply = async (e: Event): Promise<void> => {
    e.preventDefault()
    const local: Record<string, string> = {}
    const seen = new Set<string>()
    users.forEach((u, i) => {
      if (u.username.trim() === '') local[`users[${i}].username`] = 'Required.'
      else if (seen.has(u.username)) local[`users[${i}].username`] = 'Each username once.'
      seen.add(u.username)
      if (u.isNew && u.password.length < 8) local[`users[${i}].password`] = 'At least 8 characters.'
    })
    rules.forEach((r, i) => { const p = filterProblem(r.topic.replace(/%[uc]/g, 'x')); if (p !== undefined) local[`acl[${i}].topic`] = p })
    setErrs(local); setError(undefined)
    if (Object.keys(local).length > 0) return
    try {
      const reloaded = await applyConfig((c) => ({
        ...c,
        mqtt: {
          ...c.mqtt,
          // A password left as it was stays `(set)`: the runtime keeps the stored hash.
          users: users.map((u) => ({ username: u.username.trim(), password: u.password === '' ? REDACTED : u.password })),
          acl: rules.map((r) => ({ ...(r.user !== '' ? { user: r.user } : {}), ...(r.clientId !== '' ? { clientId: r.clientId } : {}), topic: r.topic, access: r.access, allow: r.allow })),
        },
      }))
      done(`Applied. Reloaded: ${reloaded.join(', ') || 'nothing'}.`)
    } catch (err) { setErrs(problemsUnder(err, 'mqtt')); setError(err) }
  }
  const setU = (i: number, p: Partial<User>): void => { setUsers(users.map((u, j) => j === i ? { ...u, ...p } : u)) }
  const setR = (i: number, p: Partial<Rule>): void => { setRules(rules.map((r, j) => j === i ? { ...r, ...p } : r)) }

  return html`<form onSubmit=${apply} noValidate aria-label="Broker users and ACL">
    <fieldset><legend>Broker users</legend>
      <p class="help">With users, every MQTT client must log in (required for a LAN listener). Passwords are stored hashed and never shown.</p>
      ${users.map((u, i) => html`<div class="rule" key=${i}>
        <${Text} label=${`User ${i + 1}: username`} name=${`user-${i}`} value=${u.username} readOnly=${!u.isNew} error=${errs[`users[${i}].username`]} onInput=${(v: string) => { setU(i, { username: v }) }} />
        <${Text} label=${`User ${i + 1}: ${u.isNew ? 'password' : 'new password'}`} name=${`user-${i}-password`} type="password" autocomplete="new-password"
          value=${u.password === REDACTED ? '' : u.password} error=${errs[`users[${i}].password`]} help=${u.isNew ? 'At least 8 characters.' : 'Set; leave empty to keep it.'}
          onInput=${(v: string) => { setU(i, { password: v === '' && !u.isNew ? REDACTED : v }) }} />
        <button type="button" class="danger" onClick=${() => { setUsers(users.filter((_, j) => j !== i)) }}>Remove user ${i + 1}</button>
      </div>`)}
      <button type="button" onClick=${() => { setUsers([...users, { username: '', password: '', isNew: true }]) }}>Add user</button>
    </fieldset>
    <fieldset><legend>ACL rules</legend>
      <p class="help">Checked in order; the first rule that matches decides. %u is the username, %c the client id.</p>
      ${rules.map((r, i) => html`<div class="rule" key=${i}>
        <${Text} label=${`Rule ${i + 1}: topic filter`} name=${`acl-${i}-topic`} value=${r.topic} error=${errs[`acl[${i}].topic`]} onInput=${(v: string) => { setR(i, { topic: v }) }} />
        <${Text} label=${`Rule ${i + 1}: user`} name=${`acl-${i}-user`} value=${r.user} help="Empty: any user." error=${errs[`acl[${i}].user`]} onInput=${(v: string) => { setR(i, { user: v }) }} />
        <${Text} label=${`Rule ${i + 1}: client id`} name=${`acl-${i}-client`} value=${r.clientId} help="Empty: any client." error=${errs[`acl[${i}].clientId`]} onInput=${(v: string) => { setR(i, { clientId: v }) }} />
        <${Select} label=${`Rule ${i + 1}: access`} name=${`acl-${i}-access`} value=${r.access} dflt="both" options=${['publish', 'subscribe', 'both']} onChange=${(v: string) => { setR(i, { access: v }) }} />
        <${Check} label=${`Rule ${i + 1}: allow`} name=${`acl-${i}-allow`} checked=${r.allow} help="Unchecked: deny." onChange=${(v: boolean) => { setR(i, { allow: v }) }} />
        <button type="button" class="danger" onClick=${() => { setRules(rules.filter((_, j) => j !== i)) }}>Remove rule ${i + 1}</button>
      </div>`)}
      <button type="button" onClick=${() => { setRules([...rules, { user: '', clientId: '', topic: '', access: 'both', allow: true }]) }}>Add rule</button>
    </fieldset>
    <${Banner} error=${error} shown=${Object.keys(errs).map((k) => `mqtt.${k}`)} />
    <div class="actions"><button type="submit" class="primary">Apply users and rules</button></div>
  </form>`
}

function Token ({ cfg, reload }: { cfg: any; reload: () => void }) {
  const isSet = cfg.api?.token !== undefined
  const [shown, setShown] = useState<string | undefined>()
  const [confirm, setConfirm] = useState<'remove' | undefined>()
  const [error, setError] = useState<unknown>()
  const set = async (token: string | undefined): Promise<void> => {
    setError(undefined); setConfirm(undefined)
    try {
      await applyConfig((c) => { const a = { ...c.api }; if (token === undefined) delete a.token; else a.token = token; return { ...c, api: a } })
      setShown(token)
      reload()
    } catch (err) { setError(err) }
  }
  return html`<section class="card" aria-labelledby="token-title">
    <h2 id="token-title">API token</h2>
    <p>Apps send it as the <code>dapr-api-token</code> header (or set <code>DAPR_API_TOKEN</code>). Status: <strong>${isSet ? 'set' : 'not set — the API on this gateway needs no token'}</strong>.</p>
    ${shown !== undefined ? html`<div class="banner ok" role="status"><p>The new token, shown only this once — copy it now:</p>
      <${Text} label="New API token" name="token" value=${shown} readOnly onInput=${() => {}} />
      <button type="button" onClick=${() => { void navigator.clipboard?.writeText(shown) }}>Copy</button> <button type="button" onClick=${() => { setShown(undefined) }}>Done</button></div>` : ''}
    <div class="actions">
      <button type="button" class="primary" onClick=${() => { void set(newToken()) }}>${isSet ? 'Rotate token' : 'Generate token'}</button>
      ${isSet ? html`<button type="button" class="danger" onClick=${() => { setConfirm('remove') }}>Remove token</button>` : ''}
    </div>
    ${confirm === 'remove' ? html`<${Confirm} question="Remove the API token? Any local process can then use the API." yes="Remove token" onYes=${() => { void set(undefined) }} onNo=${() => { setConfirm(undefined) }} />` : ''}
    <${Banner} error=${error} />
  </section>`
}

function Password () {
  const [cur, setCur] = useState('')
  const [pw, setPw] = useState('')
  const [pw2, setPw2] = useState('')
  const [errs, setErrs] = useState<Record<string, string>>({})
  const [msg, setMsg] = useState('')
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const local: Record<string, string> = {}
    if (cur === '') local.cur = 'Required.'
    if (pw.length < 8) local.pw = 'At least 8 characters.'
    else if (pw !== pw2) local.pw2 = 'The two passwords differ.'
    setErrs(local); setMsg('')
    if (Object.keys(local).length > 0) return
    try {
      await api('POST', '/admin/api/password', { currentPassword: cur, newPassword: pw }, { quiet401: true })
      setMsg('Password changed; other sessions were signed out.'); setCur(''); setPw(''); setPw2('')
    } catch (err) {
      const a = err as ApiError
      setErrs(a.status === 401 ? { cur: 'Wrong password.' } : a.code === 'MECHA_ERR_UI_PASSWORD_WEAK' ? { pw: a.message } : { pw2: `${a.message} (${a.code})` })
    }
  }
  return html`<form class="card" onSubmit=${submit} noValidate aria-labelledby="pw-title">
    <h2 id="pw-title">Web UI password</h2>
    <${Text} label="Current password" name="currentPassword" type="password" autocomplete="current-password" value=${cur} error=${errs.cur} onInput=${setCur} />
    <${Text} label="New UI password" name="newUiPassword" type="password" autocomplete="new-password" value=${pw} error=${errs.pw} help="At least 8 characters." onInput=${setPw} />
    <${Text} label="Confirm new UI password" name="confirmUiPassword" type="password" autocomplete="new-password" value=${pw2} error=${errs.pw2} onInput=${setPw2} />
    <button type="submit">Change password</button>
    ${msg !== '' ? html`<${Ok}>${msg}</${Ok}>` : ''}
  </form>`
}

export function Access () {
  const [cfg, setCfg] = useState<any>()
  const [n, setN] = useState(0)
  const [error, setError] = useState<unknown>()
  const [msg, setMsg] = useState('')
  const reload = (): void => { loadConfig().then((c) => { setCfg(c.config); setN((x) => x + 1) }, setError) }
  useEffect(reload, [])
  return html`<${Page} title="Access">
    <${Banner} error=${error} />
    ${msg !== '' ? html`<${Ok}>${msg}</${Ok}>` : ''}
    ${cfg !== undefined ? html`<${Users} key=${n} cfg=${cfg} done=${(m: string) => { setMsg(m); reload() }} /><${Token} cfg=${cfg} reload=${reload} />` : ''}
    <${Password} />
  </${Page}>`
}
