/** Device bindings: status, counters, last events; a serial line or request, a GPIO read/write/toggle. routes/bindings.ts */
import { html, useEffect, useState } from '../html.ts'
import { ApiError, get, post } from '../api.ts'
import { time } from '../format.ts'
import { Banner, Page, StatusBadge, Text } from '../ui.ts'

const enc = encodeURIComponent

function Serial ({ b, onDone }: { b: any; onDone: () => void }) {
  const [line, setLine] = useState('')
  const [err, setErr] = useState<string | undefined>()
  const [reply, setReply] = useState<string | undefined>()
  const send = async (operation: 'write' | 'request'): Promise<void> => {
    setReply(undefined)
    if (line === '') { setErr('Required.'); return }
    setErr(undefined)
    try {
      const r = await post(`/admin/api/bindings/${enc(b.name)}/invoke`, { operation, data: line })
      setReply(operation === 'request' ? `Reply: ${typeof r?.data === 'string' ? r.data : JSON.stringify(r?.data)}` : 'Sent.')
      onDone()
    } catch (e) { setErr(`${(e as ApiError).message} (${(e as ApiError).code})`) }
  }
  return html`<form onSubmit=${(e: Event) => { e.preventDefault(); void send('request') }} noValidate aria-label=${`Send to ${b.name}`}>
    <${Text} label=${`Line to send to ${b.name}`} name=${`line-${b.name}`} value=${line} error=${err} help="The delimiter is appended as configured." onInput=${setLine} />
    <div class="actions">
      <button type="button" onClick=${() => { void send('write') }}>Send line</button>
      <button type="submit" class="primary">Send request</button>
    </div>
    ${reply !== undefined ? html`<p class="banner ok" role="status">${reply}</p>` : ''}
  </form>`
}

function Gpio ({ b, onDone }: { b: any; onDone: () => void }) {
  const [result, setResult] = useState<string | undefined>()
  const [err, setErr] = useState<unknown>()
  const run = async (operation: string, data?: unknown): Promise<void> => {
    setErr(undefined)
    try {
      const r = await post(`/admin/api/bindings/${enc(b.name)}/invoke`, { operation, ...(data !== undefined ? { data } : {}) })
      setResult(`Level: ${r?.data?.level ?? JSON.stringify(r?.data)}`)
      onDone()
    } catch (e) { setErr(e) }
  }
  const ops: string[] = b.operations ?? []
  return html`<div class="actions wrap" role="group" aria-label=${`${b.name} line`}>
    ${ops.includes('read') ? html`<button type="button" onClick=${() => { void run('read') }}>Read ${b.name}</button>` : ''}
    ${ops.includes('write') ? html`<button type="button" onClick=${() => { void run('write', 1) }}>Set ${b.name} high</button><button type="button" onClick=${() => { void run('write', 0) }}>Set ${b.name} low</button>` : ''}
    ${ops.includes('toggle') ? html`<button type="button" class="primary" onClick=${() => { void run('toggle') }}>Toggle ${b.name}</button>` : ''}
    ${result !== undefined ? html`<p class="banner ok" role="status">${result}</p>` : ''}
    <${Banner} error=${err} />
  </div>`
}

export function Devices () {
  const [list, setList] = useState<any[] | undefined>()
  const [error, setError] = useState<unknown>()
  const load = async (): Promise<void> => { try { setList((await get('/admin/api/bindings')).bindings) } catch (err) { setError(err) } }
  useEffect(() => {
    void load()
    const t = setInterval(() => { void load() }, 5000)
    return () => { clearInterval(t) }
  }, [])

  return html`<${Page} title="Devices">
    <${Banner} error=${error} />
    ${list?.length === 0 ? html`<p class="muted">No device bindings. Add one on the Components page.</p>` : ''}
    <div class="cards">${(list ?? []).map((b) => html`<article class="card" key=${b.name} aria-labelledby=${`dev-${b.name}`}>
      <h2 id=${`dev-${b.name}`}>${b.name} <span class="muted">${b.type}</span> <${StatusBadge} type=${b.status?.type} /></h2>
      <dl class="counters">${Object.entries(b.counters ?? {}).map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl>
      <h3>Last events</h3>
      ${(b.lastEvents ?? []).length === 0 ? html`<p class="muted">None yet.</p>` : html`<ol class="events">${b.lastEvents.slice(-5).reverse().map((e: any) => html`<li><span>${time(e.ts)}</span> <code>${e.value !== undefined ? JSON.stringify(e.value) : e.raw}</code></li>`)}</ol>`}
      ${b.type === 'bindings.serial' ? html`<${Serial} b=${b} onDone=${load} />` : b.type === 'bindings.gpio' ? html`<${Gpio} b=${b} onDone=${load} />` : ''}
    </article>`)}</div>
  </${Page}>`
}
