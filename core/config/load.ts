import { readFile, readdir, access } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { MechaError } from '../errors.ts'
import type { ComponentCatalog } from './dapr-schema.ts'
import { applyEnv } from './env.ts'
import { semanticProblems } from './semantic.ts'
import type { ConfigProblem, MechaConfig } from './types.ts'
import { validateShape } from './validate.ts'

export interface LoadOptions {
  /** An explicit config file; when absent `./mecha.yaml` (or .yml/.json) is used if present, else defaults. */
  file?: string
  /** @default process.cwd() */
  cwd?: string
  /** @default process.env */
  env?: NodeJS.ProcessEnv
  /** Applied last (the CLI's `--data-dir`). */
  overrides?: { dataDir?: string }
  /** Component types beyond state.level and pubsub.mqtt, each checking its own metadata (the binding registry). */
  components?: ComponentCatalog
}

export interface LoadedConfig {
  config: MechaConfig
  /** The file read, if any. */
  file?: string
  /** Environment variables that were applied. */
  env: string[]
  /** Notes that are not errors (documents skipped in componentsDir). */
  warnings: string[]
}

const DEFAULT_FILES = ['mecha.yaml', 'mecha.yml', 'mecha.json']

/** Reads, merges and validates the config. Throws MECHA_ERR_CONFIG_READ or MECHA_ERR_CONFIG_INVALID (details: problems). */
export async function loadConfig (opts: LoadOptions = {}): Promise<LoadedConfig> {
  const cwd = opts.cwd ?? process.cwd()
  let file = opts.file === undefined ? undefined : resolve(cwd, opts.file)
  if (file === undefined) {
    for (const name of DEFAULT_FILES) {
      const candidate = join(cwd, name)
      if (await access(candidate).then(() => true, () => false)) { file = candidate; break }
    }
  }
  let raw: unknown = {}
  if (file !== undefined) {
    let text: string
    try { text = await readFile(file, 'utf8') } catch (err) {
      throw new MechaError('MECHA_ERR_CONFIG_READ', `cannot read config file ${file}: ${(err as Error).message}`, { cause: err })
    }
    raw = parseYaml(text, file)[0] ?? {}
  }
  const result = await parseConfig(raw, { env: opts.env ?? process.env, cwd, overrides: opts.overrides, components: opts.components })
  return { ...result, file }
}

function parseYaml (text: string, label: string): unknown[] {
  const docs = parseAllDocuments(text)
  const list = Array.isArray(docs) ? docs : [docs]
  const out: unknown[] = []
  for (const doc of list) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]
      throw new MechaError('MECHA_ERR_CONFIG_READ', `${label}: ${e.message.split('\n')[0]}`, { cause: e })
    }
    const value = doc.toJS()
    if (value !== null && value !== undefined) out.push(value)
  }
  return out
}

/** Validates a config object (as parsed from YAML/JSON); never mutates `raw`. */
export async function parseConfig (raw: unknown, opts: { env?: NodeJS.ProcessEnv; cwd?: string; overrides?: { dataDir?: string }; components?: ComponentCatalog } = {}): Promise<Omit<LoadedConfig, 'file'>> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MechaError('MECHA_ERR_CONFIG_INVALID', 'config: must be a mapping of keys to values', { details: [{ path: '(root)', message: 'must be a mapping' }] })
  }
  const data = structuredClone(raw) as Record<string, any>
  const env = applyEnv(data, opts.env ?? {})
  if (opts.overrides?.dataDir !== undefined) data.dataDir = opts.overrides.dataDir
  data.id ??= defaultId()

  const warnings: string[] = []
  const problems: ConfigProblem[] = []
  if (typeof data.componentsDir === 'string') {
    const dir = resolve(opts.cwd ?? process.cwd(), data.componentsDir)
    await readComponentsDir(dir, data, problems, warnings)
  }
  problems.push(...validateShape(data))
  // Cross-key checks run even when the shape has problems, so one `mecha check` lists everything it can;
  // on a badly broken shape they may not get far, which is fine: the shape problems say why.
  try {
    for (const p of semanticProblems(data, opts.components)) if (!problems.some((q) => q.path === p.path)) problems.push(p)
  } catch {}
  if (problems.length > 0) {
    const text = problems.map((p) => `${p.path}: ${p.message}`).join('\n')
    throw new MechaError('MECHA_ERR_CONFIG_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the config:\n${text}`, { details: problems })
  }
  return { config: deepFreeze(data) as unknown as MechaConfig, env, warnings }
}

async function readComponentsDir (dir: string, data: Record<string, any>, problems: ConfigProblem[], warnings: string[]): Promise<void> {
  let names: string[]
  try { names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort() } catch (err) {
    problems.push({ path: 'componentsDir', message: `cannot read ${dir}: ${(err as Error).message}` })
    return
  }
  data.components = Array.isArray(data.components) ? data.components : []
  data.subscriptions = Array.isArray(data.subscriptions) ? data.subscriptions : []
  for (const name of names) {
    let docs: unknown[]
    try { docs = parseYaml(await readFile(join(dir, name), 'utf8'), name) } catch (err) {
      problems.push({ path: `componentsDir/${name}`, message: (err as Error).message })
      continue
    }
    docs.forEach((doc, i) => {
      const kind = (doc as { kind?: unknown })?.kind
      if (kind === 'Component') data.components.push(doc)
      else if (kind === 'Subscription') data.subscriptions.push(doc)
      else warnings.push(`componentsDir/${name} document ${i}: kind ${String(kind)} is not used by Mecha; skipped`)
    })
  }
}

function defaultId (): string {
  const h = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63)
  return h === '' ? 'mecha' : h
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value as object)) deepFreeze(v)
  }
  return value
}
