import { builtinModules } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as esbuild from 'esbuild'
import type { AddonName } from '../edge/native/addons.ts'
import { configValidatorsPlugin, nativeAddonsPlugin, stubsPlugin } from './esbuild-plugins.ts'

export const ROOT = join(import.meta.dirname, '..')
export const ENTRY = join(ROOT, 'edge', 'main.ts')

export interface BuildStamp { commit: string; target: string; builtAt: string }

// Modules only reachable with the `node:` prefix are missing from builtinModules on Node 20.
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'node:sea', 'node:sqlite', 'node:test'])

/**
 * esbuild: the runtime and its dependencies in one CommonJS file (a SEA's main script is CommonJS, and its
 * `require` loads built-ins only, so everything else must be inside). Fails on any warning and on any import
 * left external that is not a Node built-in, so nothing can fail to load at run time on the gateway.
 */
export async function bundle (outfile: string, stamp: BuildStamp, entry = ENTRY): Promise<{ bytes: number; addons: AddonName[] }> {
  const seen = new Set<string>()
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // The executable's Node is 24; `node dist/bundle.cjs` also runs on the dev machine's Node 20.
    target: 'node20',
    // Syntax only: identifiers and line breaks stay, so a stack trace (and the source line Node prints with an
    // uncaught error) from a gateway stays readable.
    minifySyntax: true,
    // Non-ASCII in code is escaped (esbuild's default, stated because asciiOnly() below relies on it).
    charset: 'ascii',
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    define: {
      __MECHA_BUILD__: JSON.stringify(stamp),
      // CommonJS has no import.meta: give modules that use it (cbor-x, our asset reader) the bundle's own URL.
      'import.meta.url': '__mecha_import_meta_url',
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
    },
    banner: { js: 'var __mecha_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [stubsPlugin(), nativeAddonsPlugin(seen), configValidatorsPlugin()],
  })
  const problems = result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`)
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imp of input.imports) {
      if (imp.external && !imp.path.startsWith('<define:') && !builtins.has(imp.path)) problems.push(`${file}: ${imp.path} is left external and cannot load inside the executable (if it is optional, add it to STUBBED in build/esbuild-plugins.ts)`)
    }
  }
  if (problems.length > 0) throw new Error(`bundling ${entry}:\n  ${problems.join('\n  ')}`)
  asciiOnly(outfile)
  // Only the addons the bundle can reach are embedded (serial support may not be wired in yet).
  const addons = [...seen].sort() as AddonName[]
  return { bytes: Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0), addons }
}

/**
 * V8 keeps the main script's source in the heap for as long as the process runs (lazy compilation needs it), as
 * a one-byte string only if every character is Latin-1: one `§` or `→` in a comment that esbuild kept makes the
 * 5 MB bundle a 10 MB two-byte string. esbuild already escapes non-ASCII in strings, templates, regular
 * expressions and identifiers (its default `charset: 'ascii'`), so what is left is in comments, where an escape
 * is as good as the character; a line or paragraph separator, which ends a `//` comment, becomes a newline.
 */
export function asciiOnly (file: string): number {
  const src = readFileSync(file, 'utf8')
  let n = 0
  const out = src.replace(/[^\x00-\x7f]/g, (c) => {
    n++
    if (c === '\u2028' || c === '\u2029') return '\n'
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
  if (n > 0) writeFileSync(file, out)
  return n
}
