/** Browse a state store's keys (prefix, pages); view, edit with its ETag, and delete a value. routes/state.ts */
import { html, useEffect, useState } from '../html.ts'
import { api, ApiError, get } from '../api.ts'
import { Banner, Confirm, Ok, Page, Select, Text } from '../ui.ts'

const PAGE_SIZE = 20
const enc = encodeURIComponent

export function StatePage () {
  const [stores, setStores] = useState<string[]>([])
  const [store, setStore] = useState('statestore')
  const [prefix, setPrefix] = useState('')
  const [page, setPage] = useState(0)
  const [keys, setKeys] = useState<{ keys: string[]; more: boolean }>({ keys: [], more: false })
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')
  const [etag, setEtag] = useState<string | undefined>()
  const [errs, setErrs] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>()
  const [msg, setMsg] = useState('')
  const [confirm, setConfirm] = useState(false)

  const list = async (s = store, p = prefix, n = page): Promise<void> => {
    try { setKeys(await get(`/admin/api/state/${enc(s)}?prefix=${enc(p)}&page=${n}&pageSize=${PAGE_SIZE}`)) } catch (err) { setError(err) }
  }
  useEffect(() => {
    get('/admin/api/state').then((r) => { setStores(r.stores) ; void list() }, setError)
  }, [])

  const open = async (k: string): Promise<void> => {
    setErrs({}); setMsg(''); setError(undefined)
    try {
      const r = await get(`/admin/api/state/${enc(store)}/${enc(k)}`)
      setKey(k); setValue(JSON.stringify(r.value, null, 2)); setEtag(r.etag)
    } catch (err) { setError(err) }
  }
  const save = async (e: Event): Promise<void> => {
    e.preventDefault()
    const local: Record<string, string> = {}
    let parsed: unknown
    if (key === '') local.key = 'Required.'
    try { parsed = JSON.parse(value) } catch (err) { local.value = `Not valid JSON: ${(err as Error).message}. Text needs quotes: "on".` }
    setErrs(local); setMsg(''); setError(undefined)
    if (Object.keys(local).length > 0) return
    try {
      const r = await api('PUT', `/admin/api/state/${enc(store)}/${enc(key)}`, { value: parsed }, etag === undefined ? {} : { headers: { 'if-match': `"${etag}"` } })
      setEtag(r.etag); setMsg(`Saved ${key} (ETag ${r.etag}).`)
      await list()
    } catch (err) {
      const a = err as ApiError
      if (a.code === 'ERR_ETAG_MISMATCH') setErrs({ value: 'Someone changed this value since you opened it: open it again to see the new value.' })
      else if (a.code === 'ERR_STATE_KEY_INVALID') setErrs({ key: a.message })
      else if (a.code === 'ERR_MALFORMED_REQUEST') setErrs({ value: a.message })
      else setError(err)
    }
  }
  const remove = async (): Promise<void> => {
    setConfirm(false); setError(undefined)
    try {
      await api('DELETE', `/admin/api/state/${enc(store)}/${enc(key)}`, undefined, etag === undefined ? {} : { headers: { 'if-match': `"${etag}"` } })
      setMsg(`Deleted ${key}.`); setKey(''); setValue(''); setEtag(undefined)
      await list()
    } catch (err) {
      if ((err as ApiError).code === 'ERR_ETAG_MISMATCH') setErrs({ value: 'Changed since you opened it: open it again before deleting.' })
      else setError(err)
    }
  }

  return html`<${Page} title="State">
    <${Banner} error=${error} />
    ${msg !== '' ? html`<${Ok}>${msg}</${Ok}>` : ''}
    <div class="split">
      <div>
        <form class="filters" onSubmit=${(e: Event) => { e.preventDefault(); setPage(0); void list(store, prefix, 0) }} aria-label="Find keys">
          <${Select} label="Store" name="store" value=${store} options=${stores.length > 0 ? stores : [store]} onChange=${(v: string) => { setStore(v); setPage(0); void list(v, prefix, 0) }} />
          <${Text} label="Key prefix" name="prefix" value=${prefix} help="Only keys that start with this." onInput=${setPrefix} />
          <button type="submit">Show keys</button>
        </form>
        <ul class="keys" aria-label="Keys">
          ${keys.keys.length === 0 ? html`<li class="muted">No keys${prefix !== '' ? ` starting with “${prefix}”` : ''}.</li>` : ''}
          ${keys.keys.map((k) => html`<li><button type="button" class="link" aria-current=${k === key ? 'true' : undefined} onClick=${() => { void open(k) }}>${k}</button></li>`)}
        </ul>
        <div class="actions">
          <button type="button" disabled=${page === 0} onClick=${() => { setPage(page - 1); void list(store, prefix, page - 1) }}>Previous page</button>
          <span>Page ${page + 1}</span>
          <button type="button" disabled=${!keys.more} onClick=${() => { setPage(page + 1); void list(store, prefix, page + 1) }}>Next page</button>
        </div>
      </div>
      <form onSubmit=${save} noValidate aria-label="Value">
        <h2>${etag === undefined ? 'New value' : `Value of ${key}`}</h2>
        <${Text} label="Key" name="key" value=${key} error=${errs.key} readOnly=${etag !== undefined} onInput=${setKey} />
        <${Text} label="Value (JSON)" name="value" multiline rows=${10} value=${value} error=${errs.value}
          help=${etag === undefined ? 'A JSON value: {"on": true}, 21.5, "text".' : `ETag ${etag}: saving fails if the value changed meanwhile.`} onInput=${setValue} />
        <div class="actions">
          <button type="submit" class="primary">Save</button>
          <button type="button" class="danger" disabled=${etag === undefined} onClick=${() => { setConfirm(true) }}>Delete</button>
          <button type="button" onClick=${() => { setKey(''); setValue(''); setEtag(undefined); setErrs({}) }}>New key</button>
        </div>
        ${confirm ? html`<${Confirm} question=${`Delete the key ${key}?`} yes="Delete key" onYes=${() => { void remove() }} onNo=${() => { setConfirm(false) }} />` : ''}
      </form>
    </div>
  </${Page}>`
}
