/**
 * Live messages of the local broker over MQTT over WebSocket at /mqtt (the session cookie lets the browser in
 * when no broker users are configured; otherwise it logs in as a broker user). Bounded buffer, pausable.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { html, useEffect, useRef, useState } from '../html.ts'
import { filterProblem, topicProblem } from '../config-apply.ts'
import { payloadView } from '../format.ts'
import { Banner, Check, Page, Select, Text } from '../ui.ts'

const MAX_MESSAGES = 200

interface Msg { n: number; at: string; topic: string; qos: number; retain: boolean; kind: string; text: string; size: number }

export function Messages () {
  const [state, setState] = useState<'connecting' | 'connected' | 'offline'>('connecting')
  const [error, setError] = useState<unknown>()
  const [filter, setFilter] = useState('#')
  const [filterErr, setFilterErr] = useState<string | undefined>()
  const [subs, setSubs] = useState<string[]>([])
  const [msgs, setMsgs] = useState<Msg[]>([])
  const [paused, setPaused] = useState(false)
  const [missed, setMissed] = useState(0)
  const [pub, setPub] = useState({ topic: '', payload: '', qos: '0', retain: false })
  const [pubErr, setPubErr] = useState<Record<string, string>>({})
  const [pubMsg, setPubMsg] = useState('')
  const [login, setLogin] = useState({ username: '', password: '' })
  const client = useRef<MqttClient | undefined>()
  const pausedRef = useRef(false)
  const count = useRef(0)

  const connect = (): (() => void) => {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`
    const c = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: `mecha-ui-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      reconnectPeriod: 5000,
      // MQTT.js would make its keepalive timer in a blob: Worker, which the UI's CSP (default-src 'self') refuses.
      timerVariant: 'native',
      connectTimeout: 10_000,
      ...(login.username !== '' ? { username: login.username, password: login.password } : {}),
    })
    client.current = c
    c.on('connect', () => {
      setState('connected'); setError(undefined)
      setSubs((s) => { if (s.length > 0) c.subscribe(s, { qos: 0 }); return s })
    })
    c.on('offline', () => { setState('offline') })
    c.on('error', (err) => { setError(new Error(`MQTT: ${err.message}`)) })
    c.on('message', (topic, payload, packet) => {
      if (pausedRef.current) { setMissed((m) => m + 1); return }
      const v = payloadView(payload)
      const m: Msg = { n: ++count.current, at: new Date().toLocaleTimeString(), topic, qos: packet.qos, retain: packet.retain, kind: v.kind, text: v.text.length > 4000 ? `${v.text.slice(0, 4000)}…` : v.text, size: payload.byteLength }
      setMsgs((list) => [m, ...list].slice(0, MAX_MESSAGES))
    })
    return () => { c.end(true) }
  }
  useEffect(() => connect(), [])

  const subscribe = (e: Event): void => {
    e.preventDefault()
    const p = filterProblem(filter)
    setFilterErr(p)
    if (p !== undefined || client.current === undefined) return
    if (subs.includes(filter)) return
    client.current.subscribe(filter, { qos: 1 }, (err, granted) => {
      if (err != null) { setFilterErr(err.message); return }
      if (granted?.[0]?.qos === 128) { setFilterErr('The broker refused this subscription (ACL).'); return }
      setSubs((s) => [...s, filter])
    })
  }
  const unsubscribe = (f: string): void => {
    client.current?.unsubscribe(f)
    setSubs((s) => s.filter((x) => x !== f))
  }
  const publish = (e: Event): void => {
    e.preventDefault()
    const errs: Record<string, string> = {}
    const tp = topicProblem(pub.topic)
    if (tp !== undefined) errs.topic = tp
    setPubErr(errs); setPubMsg('')
    if (Object.keys(errs).length > 0 || client.current === undefined) return
    if (!client.current.connected) { setPubErr({ topic: 'Not connected to the broker.' }); return }
    client.current.publish(pub.topic, pub.payload, { qos: Number(pub.qos) as 0 | 1 | 2, retain: pub.retain }, (err) => {
      if (err != null) setPubErr({ payload: err.message })
      else setPubMsg(`Published to ${pub.topic}${Number(pub.qos) > 0 ? ' (acknowledged)' : ''}.`)
    })
  }
  const togglePause = (): void => {
    pausedRef.current = !paused
    setPaused(!paused)
    if (paused) setMissed(0)
  }

  return html`<${Page} title="Messages" actions=${html`<span class=${`live ${state === 'connected' ? 'on' : ''}`} role="status">${state === 'connected' ? 'Connected' : state === 'offline' ? 'Offline' : 'Connecting…'}</span>`}>
    <${Banner} error=${error} />
    <details class="card">
      <summary>Broker login</summary>
      <p class="help">Only needed when broker users are configured (Access page); otherwise your session is enough.</p>
      <${Text} label="Broker username" name="brokerUser" value=${login.username} onInput=${(v: string) => { setLogin({ ...login, username: v }) }} />
      <${Text} label="Broker password" name="brokerPassword" type="password" value=${login.password} onInput=${(v: string) => { setLogin({ ...login, password: v }) }} />
      <button type="button" onClick=${() => { client.current?.end(true); setState('connecting'); connect() }}>Reconnect</button>
    </details>
    <div class="split">
      <form onSubmit=${subscribe} noValidate aria-label="Subscribe">
        <h2>Subscribe</h2>
        <${Text} label="Topic filter" name="filter" value=${filter} error=${filterErr} help="+ matches one level, # the rest: sensors/+/temp, devices/#." onInput=${setFilter} />
        <button type="submit" class="primary">Subscribe</button>
        ${subs.length > 0 ? html`<ul class="chips" aria-label="Subscriptions">${subs.map((s) => html`<li><code>${s}</code> <button type="button" class="link" onClick=${() => { unsubscribe(s) }} aria-label=${`Unsubscribe ${s}`}>Unsubscribe</button></li>`)}</ul>` : ''}
      </form>
      <form onSubmit=${publish} noValidate aria-label="Publish">
        <h2>Publish</h2>
        <${Text} label="Topic" name="topic" value=${pub.topic} error=${pubErr.topic} onInput=${(v: string) => { setPub({ ...pub, topic: v }) }} />
        <${Text} label="Payload" name="payload" multiline rows=${3} value=${pub.payload} error=${pubErr.payload} help="Sent as UTF-8 text (JSON is text too)." onInput=${(v: string) => { setPub({ ...pub, payload: v }) }} />
        <${Select} label="QoS" name="qos" value=${pub.qos} dflt="0" options=${['0', '1', '2']} onChange=${(v: string) => { setPub({ ...pub, qos: v }) }} />
        <${Check} label="Retain" name="retain" checked=${pub.retain} onChange=${(v: boolean) => { setPub({ ...pub, retain: v }) }} help="The broker keeps the last retained message of a topic for new subscribers." />
        <button type="submit" class="primary">Publish</button>
        ${pubMsg !== '' ? html`<p class="banner ok" role="status">${pubMsg}</p>` : ''}
      </form>
    </div>
    <div class="actions">
      <h2 class="grow">Received <span class="muted">(newest first, last ${MAX_MESSAGES})</span></h2>
      <button type="button" aria-pressed=${paused} onClick=${togglePause}>${paused ? `Resume${missed > 0 ? ` (${missed} skipped)` : ''}` : 'Pause'}</button>
      <button type="button" onClick=${() => { setMsgs([]) }}>Clear</button>
    </div>
    <ol class="messages" aria-live="off" aria-label="Received messages">
      ${msgs.length === 0 ? html`<li class="muted">No messages yet${subs.length === 0 ? ': subscribe to a topic filter' : ''}.</li>` : ''}
      ${msgs.map((m) => html`<li key=${m.n} class="msg">
        <div class="meta"><code class="topic">${m.topic}</code> <span>${m.at}</span> <span class="badge">QoS ${m.qos}</span>${m.retain ? html` <span class="badge warn">retained</span>` : ''} <span class="muted">${m.kind}, ${m.size} B</span></div>
        <pre>${m.text}</pre>
      </li>`)}
    </ol>
  </${Page}>`
}
