import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []

/** A fresh temp dir, removed when the test process exits (call `cleanupTmp` in an after hook to do it sooner). */
export async function tmpDir (label = 'mecha'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${label}-`))
  made.push(dir)
  return dir
}

export async function cleanupTmp (): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })))
}
