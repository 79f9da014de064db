/** Progress lines on stderr, each with the seconds since the build started: the build takes a while. */
const started = Date.now()

export function step (msg: string): void {
  process.stderr.write(`[build ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`)
}

export function mib (bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`
}
