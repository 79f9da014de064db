/** Form controls with a visible label, help text, default and the error of their field (aria-described). */
import { useId } from 'preact/hooks'
import type { ComponentChildren } from 'preact'
import { html } from './html.ts'
import { ApiError, type Problem } from './api.ts'

interface Common {
  label: string
  help?: string
  /** Shown as "Default: …". */
  dflt?: string
  error?: string
  /** The `name` attribute (tests and password managers find fields by it). */
  name?: string
}

function describe (id: string, p: Common): string | undefined {
  const ids = [p.help !== undefined || p.dflt !== undefined || (p as { required?: boolean }).required === true ? `${id}-help` : '', p.error !== undefined ? `${id}-err` : ''].filter(Boolean)
  return ids.length === 0 ? undefined : ids.join(' ')
}

function Notes ({ id, p }: { id: string; p: Common & { required?: boolean } }) {
  return html`
    ${p.help !== undefined || p.dflt !== undefined || p.required === true ? html`<p class="help" id=${`${id}-help`}>${p.required === true ? html`<span class="req">Required. </span>` : ''}${p.help ?? ''}${p.dflt !== undefined ? html` <span class="dflt">Default: <code>${p.dflt === '' ? '(empty)' : p.dflt}</code></span>` : ''}</p>` : ''}
    ${p.error !== undefined ? html`<p class="field-error" id=${`${id}-err`} role="alert">${p.error}</p>` : ''}`
}

export interface TextProps extends Common {
  value: string
  onInput: (v: string) => void
  type?: string
  required?: boolean
  placeholder?: string
  autocomplete?: string
  multiline?: boolean
  rows?: number
  readOnly?: boolean
  inputmode?: string
}

export function Text (p: TextProps) {
  const id = useId()
  const attrs = {
    id, name: p.name, value: p.value, required: p.required, placeholder: p.placeholder, readOnly: p.readOnly,
    'aria-invalid': p.error !== undefined ? 'true' : undefined, 'aria-describedby': describe(id, p),
    onInput: (e: Event) => { p.onInput((e.target as HTMLInputElement).value) },
  }
  return html`<div class=${`field${p.error !== undefined ? ' has-error' : ''}`}>
    <label for=${id}>${p.label}</label>
    ${p.multiline === true
      ? html`<textarea ...${attrs} rows=${p.rows ?? 4} spellcheck=${false}></textarea>`
      : html`<input ...${attrs} type=${p.type ?? 'text'} autocomplete=${p.autocomplete ?? 'off'} inputmode=${p.inputmode} />`}
    <${Notes} id=${id} p=${p} />
  </div>`
}

export interface SelectProps extends Common {
  value: string
  options: ReadonlyArray<string | { value: string; label: string }>
  onChange: (v: string) => void
}

export function Select (p: SelectProps) {
  const id = useId()
  return html`<div class=${`field${p.error !== undefined ? ' has-error' : ''}`}>
    <label for=${id}>${p.label}</label>
    <select id=${id} name=${p.name} value=${p.value} aria-invalid=${p.error !== undefined ? 'true' : undefined} aria-describedby=${describe(id, p)}
      onChange=${(e: Event) => { p.onChange((e.target as HTMLSelectElement).value) }}>
      ${p.options.map((o) => typeof o === 'string' ? html`<option value=${o}>${o}</option>` : html`<option value=${o.value}>${o.label}</option>`)}
    </select>
    <${Notes} id=${id} p=${p} />
  </div>`
}

export interface CheckProps extends Common { checked: boolean; onChange: (v: boolean) => void }

export function Check (p: CheckProps) {
  const id = useId()
  return html`<div class=${`field check${p.error !== undefined ? ' has-error' : ''}`}>
    <input type="checkbox" id=${id} name=${p.name} checked=${p.checked} aria-describedby=${describe(id, p)}
      onChange=${(e: Event) => { p.onChange((e.target as HTMLInputElement).checked) }} />
    <label for=${id}>${p.label}</label>
    <${Notes} id=${id} p=${p} />
  </div>`
}

/** An error the fields did not show: its message, code, and the problems no field claimed. */
export function Banner ({ error, shown = [] }: { error: unknown; shown?: string[] }) {
  if (error === undefined || error === null) return null
  const e = error instanceof ApiError ? error : new ApiError(0, 'ERROR', (error as Error).message ?? String(error))
  const rest = e.problems.filter((p: Problem) => !shown.some((s) => p.path === s || p.path.endsWith(`.${s}`)))
  return html`<div class="banner error" role="alert">
    <strong>${e.message}</strong>${e.code !== 'ERROR' && e.code !== 'CLIENT' ? html` <code class="code">${e.code}</code>` : ''}
    ${rest.length > 0 ? html`<ul>${rest.map((p) => html`<li><code>${p.path}</code>: ${p.message}</li>`)}</ul>` : ''}
  </div>`
}

export function Ok ({ children }: { children: ComponentChildren }) {
  return html`<div class="banner ok" role="status">${children}</div>`
}

/** A question asked in the page before a destructive action (keyboard reachable, no modal trap). */
export function Confirm ({ question, yes, onYes, onNo }: { question: string; yes: string; onYes: () => void; onNo: () => void }) {
  return html`<div class="confirm" role="alertdialog" aria-label=${question}>
    <p>${question}</p>
    <button type="button" class="danger" onClick=${onYes}>${yes}</button>
    <button type="button" onClick=${onNo}>Cancel</button>
  </div>`
}

export function StatusBadge ({ type }: { type: string | undefined }) {
  const t = type ?? 'unknown'
  const tone = /^(connected|running|ready|listening|open|ok)$/.test(t) ? 'good' : /^(failed|error|closed|outbox-full|crashed)$/.test(t) ? 'bad' : 'warn'
  return html`<span class=${`badge ${tone}`}>${t}</span>`
}

export function Page ({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return html`<section class="page" aria-labelledby="page-title">
    <header class="page-head"><h1 id="page-title" tabindex="-1">${title}</h1>${actions ?? ''}</header>
    ${children}
  </section>`
}
