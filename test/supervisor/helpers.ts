import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../../core/config/index.ts'
import type { AppConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'

export const log = createLogger({ level: 'silent' })
export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** Apps through the real config parser, so defaults are the schema's. */
export async function apps (list: unknown[]): Promise<AppConfig[]> {
  return [...(await parseConfig({ apps: list })).config.apps]
}

/** Polls `ok` every 20 ms, at most `ms`. */
export async function until (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export const lines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean)

/** Whether a process is alive per /proc (a zombie that init has not reaped yet counts as gone). */
export async function alive (pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    return state !== 'Z' && state !== 'X'
  } catch { return false }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Safety net for a failing test that never reached `close()`: at exit, SIGKILL every process whose environment
 * carries this test process's app marker (MECHA_APP_INSTANCE=<our pid>.…), so no fixture outlives the file.
 */
process.once('exit', () => {
  const needle = `\0MECHA_APP_INSTANCE=${process.pid}.`
  let names: string[] = []
  try { names = readdirSync('/proc').filter((n) => /^\d+$/.test(n)) } catch { return }
  for (const n of names) {
    try {
      if (('\0' + readFileSync(`/proc/${n}/environ`, 'latin1')).includes(needle)) process.kill(Number(n), 'SIGKILL')
    } catch { /* gone, or not ours */ }
  }
})
