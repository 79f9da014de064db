/** Runtime figures, the broker, the cloud link and its backlog, apps and bindings — live from the status stream. */
import { html, useEffect, useRef, useState } from '../html.ts'
import { get, stream } from '../api.ts'
import { Spark } from '../chart.ts'
import { ageOf, bytes, duration } from '../format.ts'
import { Banner, Page, StatusBadge } from '../ui.ts'

const SAMPLE_MS = 2000
/** 10 minutes of samples. */
const MAX_SAMPLES = 300

type Parts = Record<string, { type: string; [k: string]: unknown }>

const num = (v: unknown): number | undefined => typeof v === 'number' && Number.isFinite(v) ? v : undefined

/** Messages/s from what the broker part reports: a rate, or a counter whose growth we divide by time. */
function brokerFigures (b: Parts[string] | undefined): { clients?: number; rate?: number; counter?: number } {
  if (b === undefined) return {}
  return {
    clients: num(b.clients) ?? num(b.connectedClients),
    rate: num(b.messagesPerSecond) ?? num(b.rate),
    counter: num(b.messagesIn) ?? num(b.published) ?? num(b.messages),
  }
}

export function Overview () {
  const [status, setStatus] = useState<any>()
  const [parts, setParts] = useState<Parts>({})
  const [cloud, setCloud] = useState<any>()
  const [apps, setApps] = useState<any[]>([])
  const [components, setComponents] = useState<any[]>([])
  const [error, setError] = useState<unknown>()
  const [live, setLive] = useState(false)
  const [series, setSeries] = useState<{ t: number[]; rate: number[]; backlog: number[] }>({ t: [], rate: [], backlog: [] })
  const partsRef = useRef<Parts>({})
  const cloudRef = useRef<any>()
  const lastCounter = useRef<{ at: number; n: number } | undefined>()

  useEffect(() => {
    let gone = false
    const load = async (): Promise<void> => {
      try {
        const [s, c, a, comps] = await Promise.all([get('/admin/api/status'), get('/admin/api/cloud'), get('/admin/api/apps'), get('/admin/api/components')])
        if (gone) return
        setStatus(s); partsRef.current = { ...s.parts, ...partsRef.current }; setParts(partsRef.current)
        cloudRef.current = c; setCloud(c); setApps(a.apps); setComponents(comps.components); setError(undefined)
      } catch (err) { if (!gone) setError(err) }
    }
    void load()
    const close = stream('/admin/api/status/stream', 'status', (e: { part: string; status: Parts[string] }) => {
      partsRef.current = { ...partsRef.current, [e.part]: e.status }
      setParts(partsRef.current)
      setLive(true)
    }, () => { setLive(false) })
    const poll = setInterval(() => {
      void get('/admin/api/cloud').then((c) => { cloudRef.current = c; setCloud(c) }, () => {})
      void get('/admin/api/apps').then((a) => { setApps(a.apps) }, () => {})
    }, 5000)
    // The status stream carries changes; counters (messages in) grow without one, so the snapshot is polled too.
    const sample = setInterval(() => { void get('/admin/api/status').then((s) => { if (gone) return; setStatus(s); partsRef.current = { ...partsRef.current, ...s.parts }; setParts(partsRef.current); record() }, record) }, SAMPLE_MS)
    const record = (): void => {
      const now = Date.now()
      const f = brokerFigures(partsRef.current.broker)
      let rate = f.rate
      if (rate === undefined && f.counter !== undefined) {
        const prev = lastCounter.current
        rate = prev === undefined ? 0 : Math.max(0, (f.counter - prev.n) / ((now - prev.at) / 1000))
        lastCounter.current = { at: now, n: f.counter }
      }
      setSeries((s) => {
        const cut = s.t.length >= MAX_SAMPLES ? 1 : 0
        return { t: [...s.t.slice(cut), now / 1000], rate: [...s.rate.slice(cut), rate ?? 0], backlog: [...s.backlog.slice(cut), num(cloudRef.current?.outbox?.queued) ?? 0] }
      })
    }
    const uptime = setInterval(() => { setStatus((s: any) => s === undefined ? s : { ...s }) }, 1000)
    return () => { gone = true; close(); clearInterval(poll); clearInterval(sample); clearInterval(uptime) }
  }, [])

  const b = brokerFigures(parts.broker)
  const cloudStatus = (parts.cloud ?? cloud?.status) as Parts[string] | undefined
  const outbox = cloud?.outbox
  const uptime = status === undefined ? undefined : (Date.now() - Date.parse(status.startedAt)) / 1000
  const rt = parts.runtime
  const memory = status?.memory !== undefined ? { rss: status.memory.rssBytes, heap: status.memory.heapUsedBytes } : num(rt?.memoryRss) !== undefined ? { rss: num(rt!.memoryRss), heap: num(rt!.heapUsed) } : undefined
  const bindings = components.filter((c) => String(c.type).startsWith('bindings.'))

  return html`<${Page} title="Overview" actions=${html`<span class=${`live ${live ? 'on' : ''}`} role="status">${live ? 'Live' : 'Connecting…'}</span>`}>
    <${Banner} error=${error} />
    <div class="tiles">
      <div class="tile"><h2>Runtime</h2><dl>
        <dt>Gateway</dt><dd>${status?.id ?? '—'}</dd>
        <dt>Version</dt><dd>${status?.version ?? '—'}</dd>
        <dt>Uptime</dt><dd>${duration(uptime)}</dd>
        <dt>Memory</dt><dd>${memory === undefined ? '—' : `${bytes(memory.rss)} RSS, ${bytes(memory.heap)} heap`}</dd>
      </dl></div>
      <div class="tile"><h2>Broker</h2><dl>
        <dt>Status</dt><dd><${StatusBadge} type=${parts.broker?.type} /></dd>
        <dt>Clients</dt><dd>${b.clients ?? '—'}</dd>
        <dt>Messages/s</dt><dd>${series.rate.length > 0 ? Math.round(series.rate[series.rate.length - 1]! * 10) / 10 : '—'}</dd>
      </dl></div>
      <div class="tile"><h2>Cloud link</h2><dl>
        <dt>Link</dt><dd>${cloud?.configured === false ? 'not configured' : html`<${StatusBadge} type=${cloudStatus?.type} />`}</dd>
        <dt>Backlog</dt><dd>${outbox === undefined ? '—' : `${outbox.queued} messages, ${bytes(outbox.bytes)} of ${bytes(outbox.maxBytes)}`}</dd>
        <dt>Oldest queued</dt><dd>${outbox?.queued > 0 ? ageOf(outbox.oldestQueuedAt) : '—'}</dd>
        <dt>Dropped</dt><dd>${outbox?.dropped ?? '—'}</dd>
      </dl></div>
    </div>
    <div class="charts">
      <${Spark} label="Messages/s" unit="/s" xs=${series.t} ys=${series.rate} />
      <${Spark} label="Cloud backlog" unit="messages" xs=${series.t} ys=${series.backlog} />
    </div>
    <h2>Apps</h2>
    ${apps.length === 0 ? html`<p class="muted">No apps configured.</p>` : html`<div class="table-wrap"><table>
      <thead><tr><th>App</th><th>Status</th><th>Restarts</th></tr></thead>
      <tbody>${apps.map((a) => html`<tr><td>${a.id}</td><td><${StatusBadge} type=${(parts[`apps.${a.id}`]?.type) ?? a.state} /></td><td>${a.restarts}</td></tr>`)}</tbody>
    </table></div>`}
    <h2>Bindings</h2>
    ${bindings.length === 0 ? html`<p class="muted">No bindings configured.</p>` : html`<div class="table-wrap"><table>
      <thead><tr><th>Binding</th><th>Type</th><th>Status</th></tr></thead>
      <tbody>${bindings.map((c) => html`<tr><td>${c.name}</td><td>${c.type}</td><td><${StatusBadge} type=${(parts[`components.${c.name}`]?.type) ?? c.status?.type} /></td></tr>`)}</tbody>
    </table></div>`}
  </${Page}>`
}
