import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Signs in to the admin API of a runtime on its first start: reads the one-time setup code the runtime wrote
 * to its data dir, sets a password, and returns the session cookie (for `/admin/api/*` and MQTT over WebSocket).
 */
export async function firstLogin (uiPort: number, dataDir: string, newPassword = 'correct horse battery'): Promise<{ cookie: string; csrf: string }> {
  const setupCode = (await readFile(join(dataDir, 'admin-setup-code'), 'utf8')).trim()
  const res = await fetch(`http://127.0.0.1:${uiPort}/admin/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ setupCode, newPassword }),
  })
  if (res.status !== 200) throw new Error(`first login answered ${res.status}: ${await res.text()}`)
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]
  const body = await res.json() as { csrfToken?: string }
  return { cookie, csrf: body.csrfToken ?? '' }
}
