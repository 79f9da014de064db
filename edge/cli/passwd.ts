import { createInterface } from 'node:readline'

// The hash file is shared with the admin login (first login with the setup code writes it too).
export { adminHashPath, writeAdminHash } from '../admin/auth/password-file.ts'

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
