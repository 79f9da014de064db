/** Supervised apps: status, start/stop/restart, the live log tail (SSE `?follow=1`). */
import { html, useEffect, useRef, useState } from '../html.ts'
import { get, post, stream } from '../api.ts'
import { time } from '../format.ts'
import { Banner, Ok, Page, StatusBadge } from '../ui.ts'

const MAX_LINES = 500
const enc = encodeURIComponent

function Log ({ id }: { id: string }) {
  const [lines, setLines] = useState<Array<{ ts: string; stream: string; line: string }>>([])
  const [follow, setFollow] = useState(true)
  const box = useRef<HTMLPreElement>(null)
  useEffect(() => {
    if (!follow) return
    setLines([])
    return stream(`/admin/api/apps/${enc(id)}/logs?follow=1&lines=200`, 'log', (l) => { setLines((ls) => [...ls, l].slice(-MAX_LINES)) })
  }, [id, follow])
  useEffect(() => { const el = box.current; if (el !== null) el.scrollTop = el.scrollHeight }, [lines])
  return html`<div class="log">
    <div class="actions"><h3 class="grow">Log of ${id}</h3>
      <button type="button" aria-pressed=${follow} onClick=${() => { setFollow(!follow) }}>${follow ? 'Stop following' : 'Follow'}</button></div>
    <pre ref=${box} tabindex="0" aria-label=${`Log of ${id}`}>${lines.length === 0 ? 'No output yet.' : lines.map((l) => html`<span class=${l.stream}>${time(l.ts)} ${l.line}\n</span>`)}</pre>
  </div>`
}

export function Apps () {
  const [apps, setApps] = useState<any[] | undefined>()
  const [error, setError] = useState<unknown>()
  const [msg, setMsg] = useState('')
  const [logOf, setLogOf] = useState<string | undefined>()
  const load = async (): Promise<void> => { try { setApps((await get('/admin/api/apps')).apps) } catch (err) { setError(err) } }
  useEffect(() => {
    void load()
    const t = setInterval(() => { void load() }, 3000)
    return () => { clearInterval(t) }
  }, [])
  const act = async (id: string, action: string): Promise<void> => {
    setError(undefined); setMsg('')
    try { await post(`/admin/api/apps/${enc(id)}/${action}`); setMsg(`${id}: ${action} done.`); await load() } catch (err) { setError(err) }
  }

  return html`<${Page} title="Apps">
    <${Banner} error=${error} />
    ${msg !== '' ? html`<${Ok}>${msg}</${Ok}>` : ''}
    ${apps?.length === 0 ? html`<p class="muted">No apps configured (the <code>apps:</code> section of the config).</p>` : ''}
    ${apps !== undefined && apps.length > 0 ? html`<div class="table-wrap"><table>
      <thead><tr><th>App</th><th>Status</th><th>PID</th><th>Restarts</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${apps.map((a) => html`<tr>
        <td>${a.id}${a.command !== undefined ? html`<br /><code class="muted">${a.command}</code>` : ''}</td>
        <td><${StatusBadge} type=${a.state} /></td><td>${a.pid ?? '—'}</td><td>${a.restarts}</td>
        <td><div class="row-actions">
          <button type="button" onClick=${() => { void act(a.id, 'start') }} aria-label=${`Start ${a.id}`}>Start</button>
          <button type="button" onClick=${() => { void act(a.id, 'stop') }} aria-label=${`Stop ${a.id}`}>Stop</button>
          <button type="button" onClick=${() => { void act(a.id, 'restart') }} aria-label=${`Restart ${a.id}`}>Restart</button>
          <button type="button" aria-pressed=${logOf === a.id} onClick=${() => { setLogOf(logOf === a.id ? undefined : a.id) }} aria-label=${`Log of ${a.id}`}>Log</button>
        </div></td>
      </tr>`)}</tbody>
    </table></div>` : ''}
    ${logOf !== undefined ? html`<${Log} key=${logOf} id=${logOf} />` : ''}
  </${Page}>`
}
