import { chmod, mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** The UI admin password hash lives beside the database, readable by the runtime's user only. */
export function adminHashPath (dataDir: string): string {
  return join(dataDir, 'ui-admin.hash')
}

export async function writeAdminHash (dataDir: string, hash: string): Promise<string> {
  await mkdir(dataDir, { recursive: true })
  const path = adminHashPath(dataDir)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, hash + '\n', { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, path)
  return path
}

/** Reads a password: twice without echo on a terminal, else the first line of stdin (for scripts). */
export async function readPassword (input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (input.isTTY !== true) {
    const rl = createInterface({ input })
    for await (const line of rl) { rl.close(); return line }
    throw new TypeError('no password on standard input')
  }
  const ask = (prompt: string): Promise<string> => new Promise((resolve) => {
    const rl = createInterface({ input, output, terminal: true })
    const anyRl = rl as unknown as { _writeToOutput: (s: string) => void }
    output.write(prompt)
    anyRl._writeToOutput = () => {} // no echo
    rl.question('', (answer) => { rl.close(); output.write('\n'); resolve(answer) })
  })
  const first = await ask('New password: ')
  const second = await ask('Repeat password: ')
  if (first !== second) throw new TypeError('the passwords do not match')
  return first
}
