import { createHash } from 'node:crypto'
import { watch, type FSWatcher } from 'node:fs'
import { copyFile, open, readFile, rename, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { loadConfig, type ComponentCatalog, type ConfigProblem, type MechaConfig } from '../../core/config/index.ts'
import { isMechaError } from '../../core/errors.ts'

/** The outcome of reading the config file again: the parsed config, or every problem with its path. */
export type ReadResult = { ok: true; config: MechaConfig; warnings: string[] } | { ok: false; problems: ConfigProblem[] }

/** Reads and validates the config file exactly as `mecha run` and `mecha check` do (one pipeline). */
export async function readConfigFile (file: string | undefined, overrides: { dataDir?: string } = {}, components?: ComponentCatalog): Promise<ReadResult> {
  try {
    const { config, warnings } = await loadConfig({ file, overrides, components })
    return { ok: true, config, warnings }
  } catch (err) {
    if (isMechaError(err, 'MECHA_ERR_CONFIG_INVALID')) return { ok: false, problems: err.details as ConfigProblem[] }
    return { ok: false, problems: [{ path: file ?? '(config)', message: (err as Error).message }] }
  }
}

/** The previous version, kept beside the file by `writeConfigFile` so a rollback can restore it. */
export const previousOf = (file: string): string => `${file}.prev`

/**
 * Writes the config file atomically (temp file, fsync, rename) after copying the current one to `<file>.prev`:
 * a power cut leaves the old file or the new one, never half of one.
 */
export async function writeConfigFile (file: string, text: string): Promise<void> {
  try { await copyFile(file, previousOf(file)) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
}

/** Puts `<file>.prev` back as the config file (and keeps the replaced one as the new `.prev`). */
export async function rollbackConfigFile (file: string): Promise<void> {
  const prev = await readFile(previousOf(file), 'utf8')
  await writeConfigFile(file, prev)
}

/**
 * Watches the config file for changes: editors replace files (rename) as often as they write them, so the
 * directory is watched and the content compared; bursts are debounced. Returns the function that stops it.
 */
export function watchConfigFile (file: string, onChange: () => void, debounceMs = 300): () => void {
  let last: string | undefined
  let timer: NodeJS.Timeout | undefined
  const digest = async (): Promise<string | undefined> => {
    try { return createHash('sha256').update(await readFile(file)).digest('hex') } catch { return undefined }
  }
  void digest().then((d) => { last = d })
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (name !== null && name !== basename(file)) return
      clearTimeout(timer)
      timer = setTimeout(() => {
        void (async () => {
          if ((await stat(file).catch(() => undefined)) === undefined) return // mid-replace, or removed: keep running
          const d = await digest()
          if (d === undefined || d === last) return
          last = d
          onChange()
        })()
      }, debounceMs)
    })
  } catch { /* a directory that cannot be watched: SIGHUP and the admin API still reload */ }
  return () => { clearTimeout(timer); watcher?.close() }
}

/** Marks the file's current content as seen (after the runtime wrote it itself, no second reload). */
export async function contentDigest (file: string): Promise<string | undefined> {
  try { return createHash('sha256').update(await readFile(file)).digest('hex') } catch { return undefined }
}
