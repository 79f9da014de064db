/** The cloud link: URL, credentials, TLS material, forward/receive rules; test; outbox figures and dropping them. */
import { html, useEffect, useState } from '../html.ts'
import { ApiError, get, post } from '../api.ts'
import { applyConfig, filterProblem, loadConfig, problemsUnder, REDACTED } from '../config-apply.ts'
import { ageOf, bytes } from '../format.ts'
import { Banner, Confirm, Ok, Page, Select, StatusBadge, Text } from '../ui.ts'

interface Rule { from: string; to: string; qos: string; priority?: string }
interface Draft { url: string; clientId: string; username: string; password: string; ca: string; cert: string; key: string; forward: Rule[]; receive: Rule[] }

const EMPTY: Draft = { url: '', clientId: '', username: '', password: '', ca: '', cert: '', key: '', forward: [], receive: [] }
const URL_RE = /^(mqtts?|wss?|tcp|tls):\/\/[^\s/]+/

function draftOf (c: any): Draft {
  if (c === undefined || c === null) return { ...EMPTY }
  const rule = (r: any): Rule => ({ from: r.from ?? '', to: r.to ?? '', qos: String(r.qos ?? 1), ...(r.priority !== undefined ? { priority: String(r.priority) } : {}) })
  return {
    url: c.url ?? '', clientId: c.clientId ?? '', username: c.username ?? '', password: c.password === REDACTED ? REDACTED : '',
    ca: c.ca ?? '', cert: c.cert ?? '', key: c.key ?? '', forward: (c.forward ?? []).map(rule), receive: (c.receive ?? []).map(rule),
  }
}

function sectionOf (d: Draft, prev: any): any {
  const out: any = { ...(prev ?? {}), url: d.url.trim() }
  for (const k of ['clientId', 'username', 'ca', 'cert', 'key'] as const) { if (d[k].trim() === '') delete out[k]; else out[k] = d[k].trim() }
  if (d.password === '') delete out.password; else out.password = d.password
  out.forward = d.forward.map((r, i) => ({ ...(prev?.forward?.[i] ?? {}), from: r.from, to: r.to, qos: Number(r.qos), priority: Number(r.priority ?? 5) }))
  out.receive = d.receive.map((r, i) => ({ ...(prev?.receive?.[i] ?? {}), from: r.from, to: r.to, qos: Number(r.qos) }))
  return out
}

function check (d: Draft): Record<string, string> {
  const e: Record<string, string> = {}
  if (!URL_RE.test(d.url.trim())) e.url = 'An mqtt://, mqtts://, ws:// or wss:// URL with a host.'
  d.forward.forEach((r, i) => { const p = filterProblem(r.from); if (p !== undefined) e[`forward[${i}].from`] = p })
  d.receive.forEach((r, i) => { const p = filterProblem(r.from); if (p !== undefined) e[`receive[${i}].from`] = p })
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v = d[k].trim()
    if (v.startsWith('-----BEGIN') && !/-----END [A-Z0-9 ]+-----\s*$/.test(v)) e[k] = 'The PEM text is cut short (no -----END … ----- line).'
  }
  return e
}

function Pem ({ label, name, value, error, help, onInput }: { label: string; name: string; value: string; error?: string; help: string; onInput: (v: string) => void }) {
  const pick = async (e: Event): Promise<void> => {
    const f = (e.target as HTMLInputElement).files?.[0]
    if (f !== undefined) onInput(await f.text())
  }
  return html`<div class="pem">
    <${Text} label=${label} name=${name} multiline rows=${3} value=${value} error=${error} help=${help} onInput=${onInput} />
    <label class="file">Load ${label} from a file <input type="file" accept=".pem,.crt,.cer,.key,text/plain" onChange=${pick} /></label>
  </div>`
}

function Rules ({ title, kind, rules, errs, onChange }: { title: string; kind: 'forward' | 'receive'; rules: Rule[]; errs: Record<string, string>; onChange: (r: Rule[]) => void }) {
  const set = (i: number, patch: Partial<Rule>): void => { onChange(rules.map((r, j) => j === i ? { ...r, ...patch } : r)) }
  return html`<fieldset>
    <legend>${title}</legend>
    ${rules.length === 0 ? html`<p class="muted">No rules.</p>` : ''}
    ${rules.map((r, i) => html`<div class="rule" key=${i}>
      <${Text} label=${`${title} ${i + 1}: from`} name=${`${kind}-${i}-from`} value=${r.from} error=${errs[`${kind}[${i}].from`]} help="A topic filter (+ and # allowed)." onInput=${(v: string) => { set(i, { from: v }) }} />
      <${Text} label=${`${title} ${i + 1}: to (prefix)`} name=${`${kind}-${i}-to`} value=${r.to} error=${errs[`${kind}[${i}].to`]} dflt="" help="Put before the topic; {id} is the gateway id." onInput=${(v: string) => { set(i, { to: v }) }} />
      <${Select} label=${`${title} ${i + 1}: QoS`} name=${`${kind}-${i}-qos`} value=${r.qos} dflt="1" options=${['0', '1', '2']} error=${errs[`${kind}[${i}].qos`]} onChange=${(v: string) => { set(i, { qos: v }) }} />
      <button type="button" class="danger" onClick=${() => { onChange(rules.filter((_, j) => j !== i)) }}>Remove ${kind} rule ${i + 1}</button>
    </div>`)}
    <button type="button" onClick=${() => { onChange([...rules, { from: '', to: kind === 'forward' ? 'gateways/{id}/' : '', qos: '1' }]) }}>Add ${kind} rule</button>
  </fieldset>`
}

export function Cloud () {
  const [d, setD] = useState<Draft>({ ...EMPTY })
  const [prev, setPrev] = useState<any>()
  const [info, setInfo] = useState<any>()
  const [errs, setErrs] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>()
  const [msg, setMsg] = useState('')
  const [test, setTest] = useState<{ ok: boolean; text: string } | undefined>()
  const [confirm, setConfirm] = useState(false)
  const [busy, setBusy] = useState(false)

  const load = async (): Promise<void> => {
    try {
      const [cfg, c] = await Promise.all([loadConfig(), get('/admin/api/cloud')])
      setPrev(cfg.config?.cloud); setD(draftOf(cfg.config?.cloud)); setInfo(c)
    } catch (err) { setError(err) }
  }
  useEffect(() => {
    void load()
    const t = setInterval(() => { void get('/admin/api/cloud').then(setInfo, () => {}) }, 5000)
    return () => { clearInterval(t) }
  }, [])

  const apply = async (e: Event): Promise<void> => {
    e.preventDefault()
    const local = check(d)
    setErrs(local); setError(undefined); setMsg('')
    if (Object.keys(local).length > 0) return
    setBusy(true)
    try {
      const reloaded = await applyConfig((c) => ({ ...c, cloud: sectionOf(d, c.cloud) }))
      setMsg(`Applied. Reloaded: ${reloaded.join(', ') || 'nothing'}.`)
      await load()
    } catch (err) { setErrs(problemsUnder(err, 'cloud')); setError(err) } finally { setBusy(false) }
  }
  const testLink = async (): Promise<void> => {
    const local = check(d)
    setErrs(local); setTest(undefined)
    if (Object.keys(local).length > 0) return
    try {
      const r = await post('/admin/api/cloud/test', { cloud: sectionOf(d, prev) })
      setTest({ ok: r?.ok !== false, text: r?.message ?? JSON.stringify(r) })
    } catch (err) {
      const a = err as ApiError
      setTest({ ok: false, text: a.status === 404 && a.code === 'ERR_NOT_FOUND' ? 'This runtime has no connection test (POST /admin/api/cloud/test).' : `${a.message} (${a.code})` })
    }
  }
  const drop = async (): Promise<void> => {
    setConfirm(false); setError(undefined)
    try {
      const r = await post('/admin/api/cloud/outbox/drop')
      setMsg(`Dropped ${r?.dropped ?? 'the'} queued messages.`)
      setInfo(await get('/admin/api/cloud'))
    } catch (err) {
      const a = err as ApiError
      setError(a.status === 404 && a.code === 'ERR_NOT_FOUND' ? new ApiError(404, a.code, 'This runtime cannot drop queued messages yet (POST /admin/api/cloud/outbox/drop).') : err)
    }
  }
  const o = info?.outbox

  return html`<${Page} title="Cloud">
    <div class="tile wide"><h2>Link and outbox</h2><dl>
      <dt>Link</dt><dd>${info?.configured === false ? 'not configured' : html`<${StatusBadge} type=${info?.status?.type} />`}</dd>
      <dt>Queued</dt><dd>${o === undefined ? '—' : `${o.queued} messages (${bytes(o.bytes)} of ${bytes(o.maxBytes)})`}</dd>
      <dt>Oldest queued</dt><dd>${o?.queued > 0 ? ageOf(o.oldestQueuedAt) : '—'}</dd>
      <dt>Accepted / delivered / dropped</dt><dd>${o === undefined ? '—' : `${o.accepted} / ${o.delivered} / ${o.dropped}`}</dd>
    </dl>
    <button type="button" class="danger" disabled=${o === undefined || o.queued === 0} onClick=${() => { setConfirm(true) }}>Drop queued messages</button>
    ${confirm ? html`<${Confirm} question=${`Drop all ${o?.queued ?? ''} queued messages? They will never reach the cloud.`} yes="Drop them" onYes=${() => { void drop() }} onNo=${() => { setConfirm(false) }} />` : ''}
    </div>
    ${msg !== '' ? html`<${Ok}>${msg}</${Ok}>` : ''}
    <form onSubmit=${apply} noValidate aria-label="Cloud link settings">
      <fieldset><legend>Broker</legend>
        <${Text} label="Broker URL" name="url" value=${d.url} required error=${errs.url} help="mqtts://host:8883 (TLS), mqtt://, ws:// or wss://." onInput=${(v: string) => { setD({ ...d, url: v }) }} />
        <${Text} label="Client id" name="clientId" value=${d.clientId} dflt="{id}" error=${errs.clientId} help="{id} is the gateway id." onInput=${(v: string) => { setD({ ...d, clientId: v }) }} />
        <${Text} label="Username" name="username" value=${d.username} error=${errs.username} autocomplete="off" onInput=${(v: string) => { setD({ ...d, username: v }) }} />
        <${Text} label="Password" name="cloudPassword" type="password" value=${d.password === REDACTED ? '' : d.password} error=${errs.password} autocomplete="new-password"
          help=${d.password === REDACTED ? 'A password is set; leave empty to keep it.' : 'Not set.'} onInput=${(v: string) => { setD({ ...d, password: v === '' && prev?.password === REDACTED ? REDACTED : v }) }} />
      </fieldset>
      <fieldset><legend>TLS</legend>
        <${Pem} label="CA certificate" name="ca" value=${d.ca} error=${errs.ca} help="PEM text, or the path of a PEM file on the gateway." onInput=${(v: string) => { setD({ ...d, ca: v }) }} />
        <${Pem} label="Client certificate" name="cert" value=${d.cert} error=${errs.cert} help="For mutual TLS: PEM text or a file path." onInput=${(v: string) => { setD({ ...d, cert: v }) }} />
        <${Pem} label="Client key" name="key" value=${d.key} error=${errs.key} help="PEM text or a file path; never shown to other pages." onInput=${(v: string) => { setD({ ...d, key: v }) }} />
      </fieldset>
      <${Rules} title="Forward" kind="forward" rules=${d.forward} errs=${errs} onChange=${(r: Rule[]) => { setD({ ...d, forward: r }) }} />
      <${Rules} title="Receive" kind="receive" rules=${d.receive} errs=${errs} onChange=${(r: Rule[]) => { setD({ ...d, receive: r }) }} />
      <${Banner} error=${error} shown=${Object.keys(errs).map((k) => k === '' ? 'cloud' : `cloud.${k}`)} />
      ${test !== undefined ? html`<p class=${`banner ${test.ok ? 'ok' : 'error'}`} role="status">Test connection: ${test.text}</p>` : ''}
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy}>Apply</button>
        <button type="button" onClick=${() => { void testLink() }}>Test connection</button>
      </div>
    </form>
  </${Page}>`
}
