// Entry point of `npm start`, `npx mecha` and the single executable. No top-level await: the executable's
// bundle is CommonJS.
import { main } from './cli/main.ts'

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (err: unknown) => { process.stderr.write(`mecha: ${(err as Error)?.stack ?? String(err)}\n`); process.exitCode = 1 },
)
