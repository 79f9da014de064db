/**
 * Runs the built executable the way a gateway does: copied alone into an empty dir, started with `env -i` and a
 * minimal PATH from another working directory, so nothing of the checkout (node_modules, a Node on PATH, HOME)
 * can help it. Shared by the executable tests and bench/executable.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runnerFor, type Arch } from '../../build/targets.ts'
import { track } from '../helpers/children.ts'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const MINIMAL_PATH = 'PATH=/usr/bin:/bin'

export function exePath (arch: Arch): string {
  return join(ROOT, 'dist', `mecha-linux-${arch}`)
}

/** A fresh temp dir holding only a copy of the executable. */
export async function freshCopy (arch: Arch, label = 'mecha-exe'): Promise<{ dir: string; exe: string }> {
  const dir = await mkdtemp(join(tmpdir(), `${label}-`))
  const exe = join(dir, `mecha-linux-${arch}`)
  await copyFile(exePath(arch), exe)
  return { dir, exe }
}

/** `env -i PATH=/usr/bin:/bin [VAR=…] [qemu -L sysroot] <exe> <args>`, or undefined when the arch cannot run here. */
export function command (arch: Arch, exe: string, args: string[], env: Record<string, string> = {}): string[] | undefined {
  const runner = runnerFor(arch)
  if (runner === undefined) return undefined
  return ['env', '-i', MINIMAL_PATH, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...runner, exe, ...args]
}

export interface Ran { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

export function spawnExe (arch: Arch, exe: string, args: string[], opts: { env?: Record<string, string>; cwd: string }): ChildProcess {
  const argv = command(arch, exe, args, opts.env)
  if (argv === undefined) throw new Error(`cannot run ${arch} binaries here`)
  // Tracked: killed when the test process exits, or after the test that left it running (children.ts).
  return track(spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] }), `executable ${args.join(' ')}`)
}

/** Runs to completion (killed after `timeoutMs`). */
export function runExe (arch: Arch, exe: string, args: string[], opts: { env?: Record<string, string>; cwd: string; timeoutMs?: number }): Promise<Ran> {
  const started = Date.now()
  const child = spawnExe(arch, exe, args, opts)
  let stdout = ''; let stderr = ''
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/** A port nobody listens on right now: bind port 0 on loopback, read it, release it. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface Ports { mqtt: number; api: number; ui: number; metrics: number }

/** Writes `<dir>/mecha.json` with free loopback ports and returns them. */
export async function writeConfig (dir: string): Promise<{ file: string; ports: Ports }> {
  const ports: Ports = { mqtt: await freePort(), api: await freePort(), ui: await freePort(), metrics: await freePort() }
  const file = join(dir, 'mecha.json')
  await mkdir(dir, { recursive: true })
  await writeFile(file, JSON.stringify({
    mqtt: { port: ports.mqtt },
    api: { port: ports.api, grpcPort: await freePort() },
    ui: { port: ports.ui },
    metrics: { port: ports.metrics },
  }))
  return { file, ports }
}

/** Polls `GET /v1.0/healthz` until it answers 204; resolves to the ms it took, rejects after `timeoutMs`. */
export async function waitHealthy (port: number, child: ChildProcess, timeoutMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the runtime exited (${child.exitCode ?? child.signalCode}) before healthz turned 204`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1.0/healthz`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 204) return Date.now() - started
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`healthz did not turn 204 within ${timeoutMs} ms`)
}

/** SIGTERM, then the exit code and how long it took; SIGKILL after `timeoutMs` (reported as a null code). */
export async function stop (child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; ms: number }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, ms: 0 }
  const started = Date.now()
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await exited
  clearTimeout(timer)
  return { code, ms: Date.now() - started }
}

/** Collects a child's output, for error messages. */
export function capture (child: ChildProcess): { text: () => string } {
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  return { text: () => out }
}
