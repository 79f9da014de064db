/**
 * Reading the Prometheus text exposition as a scraper does: tests look at `/metrics` over HTTP, not at the
 * runtime's registry, so what they check is what an operator's Prometheus gets.
 */

export type Labels = Record<string, string>

export interface Sample { name: string; labels: Labels; value: number }

/** GET `/metrics` from the metrics listener on `port` (loopback); throws unless it answers 200. */
export async function scrape (port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return await res.text()
}

// name, optional {labels}, value; an optional timestamp after it is ignored.
const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Every sample of the exposition (comments and blank lines skipped), label values unescaped. */
export function samples (text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (m === null) continue
    const labels: Labels = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k] = v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

/**
 * The value of the one sample named `name` whose labels are exactly `labels` (order does not matter);
 * undefined when there is none (a counter not incremented yet has no labelled sample).
 */
export function metricValue (text: string, name: string, labels: Labels = {}): number | undefined {
  const want = Object.entries(labels)
  for (const s of samples(text)) {
    if (s.name !== name || Object.keys(s.labels).length !== want.length) continue
    if (want.every(([k, v]) => s.labels[k] === v)) return s.value
  }
  return undefined
}
