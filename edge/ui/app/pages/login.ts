/** First visit: the setup code and a new password (asked twice); later: the password. docs/admin-api.md#login */
import { html, useState } from '../html.ts'
import { api, ApiError, setCsrfToken } from '../api.ts'
import { Banner, Text } from '../ui.ts'

const MIN_PASSWORD = 8

export function SignIn ({ mode, expired, onDone }: { mode: 'setup' | 'signin'; expired: boolean; onDone: (setupDone: boolean) => void }) {
  const [code, setCode] = useState('')
  const [pw, setPw] = useState('')
  const [pw2, setPw2] = useState('')
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    const errs: Record<string, string> = {}
    if (mode === 'setup') {
      if (code.replace(/[\s-]/g, '') === '') errs.code = 'Enter the setup code from the runtime’s log or <dataDir>/admin-setup-code.'
      if (pw.length < MIN_PASSWORD) errs.pw = `At least ${MIN_PASSWORD} characters.`
      else if (pw2 !== pw) errs.pw2 = 'The two passwords differ.'
    } else if (pw === '') errs.pw = 'Enter the password.'
    setErrors(errs)
    setError(undefined)
    if (Object.keys(errs).length > 0) return
    setBusy(true)
    try {
      const body = mode === 'setup' ? { setupCode: code, newPassword: pw } : { password: pw }
      const s = await api('POST', '/admin/api/login', body, { quiet401: true })
      setCsrfToken(s.csrfToken)
      onDone(mode === 'setup')
    } catch (err) {
      const e2 = err as ApiError
      // Put the server's answer at the field it concerns.
      if (e2.code === 'MECHA_ERR_UI_PASSWORD_WEAK') setErrors({ pw: e2.message })
      else if (e2.status === 401 && mode === 'setup') setErrors({ code: `${e2.message} — the code may be used already; the runtime logs a new one at each start while no password is set.` })
      else if (e2.status === 401) setErrors({ pw: 'Wrong password.' })
      else setError(err)
    } finally { setBusy(false) }
  }

  return html`<main class="signin" id="main">
    <form class="card" onSubmit=${submit} noValidate aria-labelledby="signin-title">
      <h1 id="signin-title">${mode === 'setup' ? 'Set up Mecha' : 'Sign in to Mecha'}</h1>
      ${expired ? html`<p class="banner warn" role="status">Your session ended. Sign in again to go back to this page.</p>` : ''}
      ${mode === 'setup'
        ? html`<p class="help">This gateway has no admin password yet. The runtime printed a one-time setup code in its log and wrote it to <code>admin-setup-code</code> in its data directory.</p>
          <${Text} label="Setup code" name="setupCode" value=${code} onInput=${setCode} error=${errors.code} autocomplete="one-time-code" placeholder="XXXX-XXXX-XXXX" />
          <${Text} label="New password" name="newPassword" type="password" value=${pw} onInput=${setPw} error=${errors.pw} autocomplete="new-password" help=${`At least ${MIN_PASSWORD} characters.`} />
          <${Text} label="Confirm password" name="confirmPassword" type="password" value=${pw2} onInput=${setPw2} error=${errors.pw2} autocomplete="new-password" />
          <button type="submit" class="primary" disabled=${busy}>Set password</button>`
        : html`<${Text} label="Password" name="password" type="password" value=${pw} onInput=${setPw} error=${errors.pw} autocomplete="current-password" />
          <button type="submit" class="primary" disabled=${busy}>Sign in</button>`}
      <${Banner} error=${error} />
    </form>
  </main>`
}
