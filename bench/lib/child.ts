/**
 * The one way a benchmark starts a child process (the runtime, mosquitto, a bridge host, socat): every child is
 * tracked, `stop()` sends SIGTERM and then SIGKILL after a timeout, and whatever is still running when the
 * benchmark exits — normally, on an exception, or on SIGTERM/SIGINT from bench/run.ts — is SIGKILLed.
 *
 * Why: mosquitto that receives SIGTERM right after its port opened may not have installed its handler yet and
 * keeps running; waiting for its 'exit' without a deadline hung the broker benchmark. And waiting with
 * `once('exit')` on a child that had already exited never resolves: the exit promise is made at spawn.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

export interface Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly pid: number
  /** The last 64 KiB of its stdout+stderr, for error messages. */
  output: () => string
  /** Resolves once with the exit code (or -1 when a signal ended it). */
  readonly exited: Promise<number>
  readonly running: boolean
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves when it is gone and says whether SIGKILL was needed. */
  stop: (timeoutMs?: number) => Promise<{ ms: number; killed: boolean }>
  /** SIGKILL and wait. */
  kill9: () => Promise<void>
}

const live = new Set<Child>()
const KEEP = 64 * 1024

export interface StartOptions extends Pick<SpawnOptions, 'cwd' | 'env'> {
  /** Called with each chunk of stdout/stderr (e.g. to look for a ready line). */
  onOutput?: (chunk: string) => void
}

export function startChild (name: string, cmd: string, args: string[], opts: StartOptions = {}): Child {
  // Not detached: the child stays in the benchmark's process group, so a Ctrl-C in the terminal, or the test
  // runner killing the group, reaches it as well.
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const onData = (d: Buffer): void => {
    const s = d.toString()
    out = (out + s).slice(-KEEP)
    opts.onOutput?.(s)
  }
  proc.stdout!.on('data', onData)
  proc.stderr!.on('data', onData)
  let running = true
  const exited = new Promise<number>((resolve) => {
    proc.once('error', (err) => { out += `\n[spawn error] ${err.message}`; running = false; resolve(-1) })
    proc.once('exit', (code) => { running = false; resolve(code ?? -1) })
  })
  const child: Child = {
    name,
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    exited,
    get running () { return running },
    stop: async (timeoutMs = 5000) => {
      const t0 = Date.now()
      if (!running) { live.delete(child); return { ms: 0, killed: false } }
      proc.kill('SIGTERM')
      let killed = false
      const timer = setTimeout(() => { killed = true; proc.kill('SIGKILL') }, timeoutMs)
      await exited
      clearTimeout(timer)
      live.delete(child)
      return { ms: Date.now() - t0, killed }
    },
    kill9: async () => {
      if (running) proc.kill('SIGKILL')
      await exited
      live.delete(child)
    },
  }
  live.add(child)
  void exited.then(() => { live.delete(child) })
  return child
}

/** SIGKILLs every child still running (synchronous: safe in an 'exit' handler). */
export function killAllChildren (): void {
  for (const c of live) { try { c.proc.kill('SIGKILL') } catch {} }
  live.clear()
}

let installed = false
/** Installs the exit/signal handlers once; benchmarks call it at start. */
export function installCleanup (): void {
  if (installed) return
  installed = true
  process.on('exit', killAllChildren)
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => { killAllChildren(); process.exit(130) })
  }
}

/** Resolves when `cond` holds; rejects after `timeoutMs` with `what`. Polls every `everyMs`. */
export async function waitUntil (cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string), everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`)
    await sleep(everyMs)
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
