/**
 * The metadata keys of each component type the form knows, after devices/<type>/validate.ts and
 * core/state (the server checks again: these only shape the form and catch plain mistakes before sending).
 */

export interface FieldSpec {
  key: string
  label: string
  help: string
  /** As the validator defaults it; empty = no default. */
  dflt?: string
  kind: 'text' | 'int' | 'number' | 'select' | 'bool'
  options?: readonly string[]
  required?: boolean
  min?: number
  max?: number
}

const HOST: FieldSpec[] = [
  { key: 'eventsTopic', label: 'Events topic', help: 'Where input events are published.', dflt: 'devices/{name}/events', kind: 'text' },
  { key: 'commandsTopic', label: 'Commands topic', help: 'Commands sent here go to the device.', dflt: 'devices/{name}/commands', kind: 'text' },
  { key: 'route', label: 'App route', help: 'Input events are also POSTed to this path of the apps (Dapr input binding).', dflt: '/{name}', kind: 'text' },
]

const BAUD = ['1200', '2400', '4800', '9600', '19200', '38400', '57600', '115200', '230400', '460800', '921600']

export const COMPONENT_TYPES: Record<string, { title: string; fields: FieldSpec[] }> = {
  'bindings.serial': {
    title: 'Serial port',
    fields: [
      { key: 'path', label: 'Device path', help: 'An absolute device path (/dev/ttyUSB0) or a /dev/serial/by-id name.', kind: 'text', required: true },
      { key: 'baudRate', label: 'Baud rate', help: 'A standard rate.', dflt: '9600', kind: 'select', options: BAUD },
      { key: 'dataBits', label: 'Data bits', help: '5 to 8.', dflt: '8', kind: 'select', options: ['5', '6', '7', '8'] },
      { key: 'parity', label: 'Parity', help: '', dflt: 'none', kind: 'select', options: ['none', 'even', 'odd', 'mark', 'space'] },
      { key: 'stopBits', label: 'Stop bits', help: '', dflt: '1', kind: 'select', options: ['1', '1.5', '2'] },
      { key: 'framing', label: 'Framing', help: 'How the byte stream is cut into frames.', dflt: 'delimiter', kind: 'select', options: ['delimiter', 'length', 'timeout', 'raw'] },
      { key: 'delimiter', label: 'Delimiter', help: 'Frame end for framing: delimiter; escapes \\n \\r \\t \\xHH.', dflt: '\\n', kind: 'text' },
      { key: 'encoding', label: 'Encoding', help: 'How a frame becomes the event value.', dflt: 'utf8', kind: 'select', options: ['utf8', 'hex', 'base64', 'bytes'] },
      { key: 'parse', label: 'Parse', help: 'Turn text frames into numbers or fields (needs encoding utf8).', dflt: 'none', kind: 'select', options: ['none', 'number', 'json', 'kv', 'regex'] },
      { key: 'pattern', label: 'Pattern', help: 'For parse: regex, with named groups such as (?<temp>[\\d.]+).', kind: 'text' },
      { key: 'requestTimeoutMs', label: 'Request timeout (ms)', help: 'How long a request waits for the reply frame.', dflt: '2000', kind: 'int', min: 1, max: 600_000 },
      ...HOST,
    ],
  },
  'bindings.gpio': {
    title: 'GPIO line',
    fields: [
      { key: 'chip', label: 'Chip', help: 'gpiochip0, 0, /dev/gpiochip0 or a chip label (with line).', kind: 'text' },
      { key: 'line', label: 'Line', help: 'The line offset on the chip.', kind: 'int', min: 0, max: 65535 },
      { key: 'sysfs', label: 'Sysfs number', help: 'Legacy /sys/class/gpio number, instead of chip + line.', kind: 'int', min: 0, max: 65535 },
      { key: 'direction', label: 'Direction', help: 'in: events on edges; out: write and toggle.', dflt: 'in', kind: 'select', options: ['in', 'out'] },
      { key: 'edge', label: 'Edge', help: 'Which changes of an input are events.', dflt: 'both (in), none (out)', kind: 'select', options: ['', 'none', 'rising', 'falling', 'both'] },
      { key: 'debounceMs', label: 'Debounce (ms)', help: 'Inputs only.', dflt: '0', kind: 'int', min: 0, max: 60_000 },
      { key: 'bias', label: 'Bias', help: 'Pull-up or pull-down (libgpiod only).', dflt: 'as-is', kind: 'select', options: ['as-is', 'disable', 'pull-up', 'pull-down'] },
      { key: 'activeLow', label: 'Active low', help: 'Invert the line’s level.', dflt: 'false', kind: 'bool' },
      { key: 'initial', label: 'Initial level', help: 'Outputs only: 0 or 1 at start.', dflt: '0', kind: 'select', options: ['', '0', '1'] },
      ...HOST,
    ],
  },
  'bindings.cron': {
    title: 'Schedule (cron)',
    fields: [
      { key: 'schedule', label: 'Schedule', help: 'Cron with seconds (0 */5 * * * *), 5 fields, @every 15s or @daily; CRON_TZ= prefix allowed.', kind: 'text', required: true },
      { key: 'route', label: 'App route', help: 'Each tick is POSTed to this path of the apps.', dflt: '/{name}', kind: 'text' },
      { key: 'eventsTopic', label: 'Events topic', help: 'Where ticks are published.', dflt: 'devices/{name}/events', kind: 'text' },
    ],
  },
  'state.level': {
    title: 'State store (LevelDB)',
    fields: [
      { key: 'keyPrefix', label: 'Key prefix', help: 'Dapr key prefix strategy: appid, name, none or a fixed prefix.', dflt: 'appid', kind: 'text' },
    ],
  },
}

export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** The checks the form can make itself; keys are metadata keys (plus `name`). */
export function checkComponent (name: string, type: string, meta: Record<string, string>): Record<string, string> {
  const errs: Record<string, string> = {}
  if (!NAME_PATTERN.test(name)) errs.name = 'A DNS label: lower-case letters, digits and "-", 1–63 characters.'
  for (const f of COMPONENT_TYPES[type]?.fields ?? []) {
    const v = meta[f.key] ?? ''
    if (v === '') { if (f.required === true) errs[f.key] = 'Required.'; continue }
    if (f.kind === 'int') {
      const n = Number(v)
      if (!Number.isInteger(n)) errs[f.key] = 'A whole number.'
      else if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) errs[f.key] = `Between ${f.min} and ${f.max}.`
    }
  }
  if (type === 'bindings.serial' && meta.path !== undefined && meta.path !== '' && meta.path.includes('/') && !meta.path.startsWith('/')) errs.path = 'An absolute path (/dev/…) or a by-id name.'
  if (type === 'bindings.gpio' && (meta.sysfs ?? '') === '' && ((meta.chip ?? '') === '' || (meta.line ?? '') === '')) {
    if ((meta.chip ?? '') === '') errs.chip = 'Give chip + line, or a sysfs number.'
    if ((meta.line ?? '') === '') errs.line = 'Give chip + line, or a sysfs number.'
  }
  return errs
}

/** A Dapr Component document from the form (empty fields left out, so defaults apply). */
export function componentDoc (name: string, type: string, meta: Record<string, string>, base?: any): any {
  const known = new Set((COMPONENT_TYPES[type]?.fields ?? []).map((f) => f.key))
  // Keys the form does not know (set in the file by hand) are kept as they were.
  const kept = (base?.spec?.metadata ?? []).filter((m: any) => !known.has(m.name))
  const metadata = [
    ...Object.entries(meta).filter(([k, v]) => known.has(k) && v !== '').map(([k, v]) => ({ name: k, value: v })),
    ...kept,
  ]
  return { ...(base ?? {}), apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { ...(base?.metadata ?? {}), name }, spec: { ...(base?.spec ?? {}), type, version: base?.spec?.version ?? 'v1', metadata } }
}

export function metaOf (doc: any): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of doc?.spec?.metadata ?? []) if (m.value !== undefined) out[m.name] = String(m.value)
  return out
}
