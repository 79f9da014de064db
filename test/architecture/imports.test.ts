/**
 * The walls between folders, kept by a test (CONVENTIONS 16, docs/architecture.md): `core` imports nothing of
 * ours outside itself; `devices` and `cloud-bridge` import only `core` (never each other); in `edge` only the
 * entry point — the CLI and the composition root — imports `devices` and `cloud-bridge`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = join(import.meta.dirname, '../..')
const FOLDERS = ['core', 'devices', 'cloud-bridge', 'edge'] as const
type Folder = typeof FOLDERS[number]

/** Files of edge that may import devices and cloud-bridge: the entry point and the composition root (runtime.ts and its helpers in root/). */
const ENTRY = [/^edge\/main\.ts$/, /^edge\/runtime\.ts$/, /^edge\/root\//, /^edge\/cli\//]

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) { if (e.name !== 'node_modules' && e.name !== 'static') out.push(...await sources(p)) } else if (/\.(ts|js|mjs)$/.test(e.name)) out.push(p)
  }
  return out
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
export function specifiers (text: string): string[] {
  const out: string[] = []
  const re = /(?:^|[^.\w])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^.\w])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[^.\w])import\s+['"]([^'"]+)['"]/gm
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3])
  return out.filter((s) => s.startsWith('.'))
}

function folderOf (file: string): Folder | 'other' {
  const top = file.split('/')[0]
  return (FOLDERS as readonly string[]).includes(top) ? top as Folder : 'other'
}

function allowed (from: string, to: string): boolean {
  const a = folderOf(from); const b = folderOf(to)
  if (a === b || to === 'package.json') return true
  if (a === 'core') return false
  if (a === 'devices' || a === 'cloud-bridge') return b === 'core'
  if (a === 'edge') return b === 'core' || ENTRY.some((r) => r.test(from))
  return true
}

test('architecture - no import crosses the folder rules', async () => {
  const violations: string[] = []
  let checked = 0
  for (const folder of FOLDERS) {
    for (const file of await sources(folder)) {
      const text = await readFile(join(ROOT, file), 'utf8')
      for (const spec of specifiers(text)) {
        const target = relative(ROOT, resolve(ROOT, dirname(file), spec))
        checked++
        if (!allowed(file, target)) violations.push(`${file} imports ${target}`)
      }
    }
  }
  assert.ok(checked > 100, `imports were found (${checked})`)
  assert.equal(violations, [], violations.join('\n'))
})

test('architecture - the checker itself catches a crossing import', () => {
  assert.equal(specifiers("import { x } from '../cloud-bridge/a.ts'\nconst m = await import('../../devices/serial/index.ts')\nexport * from './b.ts'"), ['../cloud-bridge/a.ts', '../../devices/serial/index.ts', './b.ts'])
  assert.not.ok(allowed('core/a.ts', 'edge/b.ts'))
  assert.not.ok(allowed('devices/a.ts', 'cloud-bridge/b.ts'))
  assert.not.ok(allowed('edge/api/x.ts', 'devices/serial/y.ts'))
  assert.ok(allowed('edge/runtime.ts', 'devices/index.ts'))
  assert.ok(allowed('cloud-bridge/a.ts', 'core/b.ts'))
})

test.run()
