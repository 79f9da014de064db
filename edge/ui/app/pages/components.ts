/** Dapr components: list, add, edit and delete through forms from component-schema.ts; apply hot-reloads. */
import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { html, useEffect, useState } from '../html.ts'
import { ApiError, get, post, type Problem } from '../api.ts'
import { checkComponent, COMPONENT_TYPES, componentDoc, metaOf, type FieldSpec } from '../component-schema.ts'
import { Banner, Check, Confirm, Ok, Page, Select, StatusBadge, Text } from '../ui.ts'

interface Draft { index: number; name: string; type: string; meta: Record<string, string>; base?: any }

/** Problems of document `i` as field errors: `components[i].spec.metadata.path` → `path`, `…metadata.name` → `name`. */
function fieldErrors (problems: Problem[], i: number): { errs: Record<string, string>; shown: string[] } {
  const errs: Record<string, string> = {}
  const shown: string[] = []
  const prefix = `components[${i}].`
  for (const p of problems) {
    if (!p.path.startsWith(prefix)) continue
    const rest = p.path.slice(prefix.length)
    const key = rest.startsWith('spec.metadata.') ? rest.slice('spec.metadata.'.length) : rest === 'metadata.name' ? 'name' : rest === 'spec.type' ? 'type' : undefined
    if (key === undefined) continue
    errs[key] = errs[key] === undefined ? p.message : `${errs[key]}; ${p.message}`
    shown.push(p.path)
  }
  return { errs, shown }
}

function FieldInput ({ f, value, error, onChange }: { f: FieldSpec; value: string; error?: string; onChange: (v: string) => void }) {
  const common = { label: f.label, help: f.help, dflt: f.dflt, error, name: f.key }
  if (f.kind === 'select') return html`<${Select} ...${common} value=${value} options=${['', ...f.options!.filter((o) => o !== '')].map((o) => o === '' ? { value: '', label: '(default)' } : o)} onChange=${onChange} />`
  if (f.kind === 'bool') return html`<${Check} ...${common} checked=${value === 'true'} onChange=${(v: boolean) => { onChange(v ? 'true' : '') }} />`
  return html`<${Text} ...${common} value=${value} required=${f.required} inputmode=${f.kind === 'int' ? 'numeric' : undefined} onInput=${onChange} />`
}

function Editor ({ draft, docs, onDone, onCancel }: { draft: Draft; docs: any[]; onDone: (msg: string) => void; onCancel: () => void }) {
  const [d, setD] = useState(draft)
  const [errs, setErrs] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>()
  const [shown, setShown] = useState<string[]>([])
  const [format, setFormat] = useState<'yaml' | 'json'>('yaml')
  const [text, setText] = useState<string | undefined>()
  const [textError, setTextError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const doc = componentDoc(d.name, d.type, d.meta, d.base)
  const docText = text ?? (format === 'yaml' ? toYaml(doc) : JSON.stringify(doc, null, 2))
  const spec = COMPONENT_TYPES[d.type]
  const isNew = d.index >= docs.length

  const onText = (t: string): void => {
    setText(t)
    try {
      const v = format === 'yaml' ? parseYaml(t) : JSON.parse(t)
      if (v === null || typeof v !== 'object' || typeof v.spec?.type !== 'string') throw new Error('not a Component document (needs metadata.name and spec.type)')
      setTextError(undefined)
      setD({ ...d, name: String(v.metadata?.name ?? ''), type: v.spec.type, meta: metaOf(v), base: v })
    } catch (err) { setTextError((err as Error).message) }
  }

  const run = async (apply: boolean): Promise<void> => {
    const local = checkComponent(d.name, d.type, d.meta)
    if (isNew && docs.some((x) => x?.metadata?.name === d.name)) local.name = 'A component of this name exists.'
    setErrs(local); setError(undefined); setShown([])
    if (Object.keys(local).length > 0 || textError !== undefined) return
    const next = [...docs]
    next[d.index] = doc
    setBusy(true)
    try {
      if (apply) {
        const r = await post('/admin/api/components/apply', { components: next })
        onDone(`Applied. Reloaded: ${(r.reloaded ?? []).join(', ') || 'nothing'}.`)
      } else {
        const r = await post('/admin/api/components/validate', { components: next })
        if (r.valid === true) setError(undefined)
        const m = fieldErrors(r.problems ?? [], d.index)
        setErrs(m.errs); setShown(m.shown)
        if (!r.valid) setError(new ApiError(400, 'MECHA_ERR_CONFIG_INVALID', 'The component has problems (nothing was changed).', r.problems))
        else setError(undefined)
      }
    } catch (err) {
      const m = fieldErrors((err as ApiError).problems ?? [], d.index)
      setErrs(m.errs); setShown(m.shown); setError(err)
    } finally { setBusy(false) }
  }

  return html`<form class="editor" onSubmit=${(e: Event) => { e.preventDefault(); void run(true) }} noValidate aria-label=${isNew ? 'New component' : `Edit ${draft.name}`}>
    <h2>${isNew ? 'New component' : `Edit ${draft.name}`}</h2>
    <div class="split">
      <fieldset>
        <legend>${spec?.title ?? d.type}</legend>
        <${Text} label="Name" name="name" value=${d.name} required onInput=${(v: string) => { setText(undefined); setD({ ...d, name: v }) }} error=${errs.name} help="Lower-case letters, digits and -; the binding’s name in the API and its topics." readOnly=${!isNew} />
        <${Select} label="Type" name="type" value=${d.type} options=${Object.keys(COMPONENT_TYPES)} onChange=${(v: string) => { setText(undefined); setD({ ...d, type: v, meta: {} }) }} error=${errs.type} />
        ${(spec?.fields ?? []).map((f) => html`<${FieldInput} key=${f.key} f=${f} value=${d.meta[f.key] ?? ''} error=${errs[f.key]} onChange=${(v: string) => { setText(undefined); setD({ ...d, meta: { ...d.meta, [f.key]: v } }) }} />`)}
      </fieldset>
      <div class="doc">
        <div class="seg" role="group" aria-label="Document format">
          <button type="button" aria-pressed=${format === 'yaml'} onClick=${() => { setText(undefined); setFormat('yaml') }}>YAML</button>
          <button type="button" aria-pressed=${format === 'json'} onClick=${() => { setText(undefined); setFormat('json') }}>JSON</button>
        </div>
        <${Text} label="Document" name="document" multiline rows=${16} value=${docText} onInput=${onText} error=${textError} help="The same component as a Dapr document; edits here update the form." />
      </div>
    </div>
    <${Banner} error=${error} shown=${shown} />
    <div class="actions">
      <button type="submit" class="primary" disabled=${busy}>Apply</button>
      <button type="button" disabled=${busy} onClick=${() => { void run(false) }}>Validate</button>
      <button type="button" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`
}

export function Components () {
  const [list, setList] = useState<any[]>([])
  const [docs, setDocs] = useState<any[]>([])
  const [canRollback, setCanRollback] = useState(false)
  const [draft, setDraft] = useState<Draft | undefined>()
  const [newType, setNewType] = useState('bindings.serial')
  const [msg, setMsg] = useState('')
  const [error, setError] = useState<unknown>()
  const [confirm, setConfirm] = useState<string | undefined>()

  const load = async (): Promise<void> => {
    try {
      const [c, cfg] = await Promise.all([get('/admin/api/components'), get('/admin/api/config')])
      setList(c.components); setDocs(cfg.config?.components ?? []); setCanRollback(cfg.canRollback === true)
    } catch (err) { setError(err) }
  }
  useEffect(() => { void load() }, [])

  const remove = async (name: string): Promise<void> => {
    setConfirm(undefined); setError(undefined)
    try {
      const r = await post('/admin/api/components/apply', { components: docs.filter((d) => d?.metadata?.name !== name) })
      setMsg(`Deleted ${name}. Reloaded: ${(r.reloaded ?? []).join(', ') || 'nothing'}.`)
      await load()
    } catch (err) { setError(err) }
  }
  const rollback = async (): Promise<void> => {
    setError(undefined)
    try {
      const r = await post('/admin/api/config/rollback')
      setMsg(`Rolled back to the previous configuration. Reloaded: ${(r.reloaded ?? []).join(', ') || 'nothing'}.`)
      await load()
    } catch (err) { setError(err) }
  }
  const edit = (name: string): void => {
    const i = docs.findIndex((d) => d?.metadata?.name === name)
    if (i < 0) return
    setMsg(''); setDraft({ index: i, name, type: docs[i].spec.type, meta: metaOf(docs[i]), base: docs[i] })
  }

  return html`<${Page} title="Components">
    ${msg !== '' ? html`<${Ok}>${msg}</${Ok}>` : ''}
    <${Banner} error=${error} />
    <div class="table-wrap"><table>
      <thead><tr><th>Name</th><th>Type</th><th>Status</th><th><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${list.map((c) => html`<tr>
        <td>${c.name}</td><td>${c.type}</td><td><${StatusBadge} type=${c.status?.type} /></td>
        <td><div class="row-actions">${c.builtIn ? html`<span class="muted">built in</span>` : html`
          <button type="button" onClick=${() => { edit(c.name) }} aria-label=${`Edit ${c.name}`}>Edit</button>
          <button type="button" class="danger" onClick=${() => { setConfirm(c.name) }} aria-label=${`Delete ${c.name}`}>Delete</button>`}</div></td>
      </tr>`)}</tbody>
    </table></div>
    ${confirm !== undefined ? html`<${Confirm} question=${`Delete the component ${confirm}? It stops at once.`} yes="Delete" onYes=${() => { void remove(confirm) }} onNo=${() => { setConfirm(undefined) }} />` : ''}
    ${draft === undefined
      ? html`<div class="actions wrap">
          <${Select} label="New component type" name="newType" value=${newType} options=${Object.entries(COMPONENT_TYPES).map(([value, t]) => ({ value, label: `${t.title} (${value})` }))} onChange=${setNewType} />
          <button type="button" class="primary" onClick=${() => { setMsg(''); setDraft({ index: docs.length, name: '', type: newType, meta: {} }) }}>Add component</button>
          <button type="button" disabled=${!canRollback} onClick=${() => { void rollback() }}>Roll back</button>
        </div>`
      : html`<${Editor} key=${draft.index} draft=${draft} docs=${docs} onCancel=${() => { setDraft(undefined) }} onDone=${(m: string) => { setDraft(undefined); setMsg(m); void load() }} />`}
  </${Page}>`
}
