/** Small formatters shared by the pages. */

export function bytes (n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

export function duration (seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—'
  const s = Math.max(0, Math.round(seconds))
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d} d ${h} h`
  if (h > 0) return `${h} h ${m} min`
  if (m > 0) return `${m} min ${s % 60} s`
  return `${s} s`
}

export function ageOf (iso: string | undefined, now = Date.now()): string {
  if (iso === undefined) return '—'
  const t = Date.parse(iso)
  return Number.isNaN(t) ? '—' : duration((now - t) / 1000)
}

export function time (iso: string | undefined): string {
  if (iso === undefined) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString()
}

/** A payload as JSON (pretty), UTF-8 text, or hex when it is not valid text. */
export function payloadView (data: Uint8Array): { kind: 'json' | 'text' | 'hex'; text: string } {
  let text: string | undefined
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(data) } catch { text = undefined }
  if (text !== undefined && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) {
    const t = text.trim()
    if ((t.startsWith('{') || t.startsWith('[')) && t.length > 1) {
      try { return { kind: 'json', text: JSON.stringify(JSON.parse(t), null, 2) } } catch { /* text */ }
    }
    return { kind: 'text', text }
  }
  return { kind: 'hex', text: Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(' ') }
}
