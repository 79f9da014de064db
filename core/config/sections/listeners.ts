import type { ConfigProblem } from '../types.ts'
import type { ConfigSection } from './section.ts'

export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

const ANY = new Set(['0.0.0.0', '::', ''])

/** Two sections listening on one port of one address (or of every address): one problem per clash. */
export function listenerClashes (c: Record<string, any>, sections: readonly ConfigSection[]): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const all = sections.flatMap((s) => s.listeners?.(c) ?? [])
  for (let i = 0; i < all.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = all[j]; const b = all[i]
      if (a.port !== 0 && a.port === b.port && (a.host === b.host || ANY.has(a.host) || ANY.has(b.host))) problems.push({ path: b.path, message: `${b.port} is already used by ${a.path}` })
    }
  }
  return problems
}
