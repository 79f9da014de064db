/**
 * `memory.maxHeapMiB`: V8's heap limit can only be set when the process starts, so `mecha run` re-executes
 * itself once, in place, with `--max-old-space-size` added to `NODE_OPTIONS` (the one way to pass a V8 flag to
 * a single executable, whose own command line is the app's). `process.execve` (Node ≥ 22.15, the executable's
 * Node 24) replaces the process image: same pid, so systemd, the bench and a supervisor see one process, and no
 * parent stays resident. Where it is missing (running from source on Node 20) the limit is not applied and
 * the runtime says how to apply it (`NODE_OPTIONS=--max-old-space-size=N`).
 */
import { getHeapStatistics } from 'node:v8'

/** Set in the re-executed process: the limit it was started with, so it never re-executes again. */
export const APPLIED_ENV = 'MECHA_MAX_HEAP_APPLIED'

export type HeapPlan =
  | { type: 'none' }
  | { type: 'applied'; limitMiB: number }
  /** A --max-old-space-size already given (NODE_OPTIONS or the command line) wins over the config. */
  | { type: 'overridden'; flag: string }
  | { type: 'reexec'; env: Record<string, string> }

const FLAG = /--max[-_]old[-_]space[-_]size[= ](\d+)/

/** What to do for `maxHeapMiB`, from the process's environment and flags (pure: the tests call it). */
export function planHeapLimit (maxHeapMiB: number | undefined, env: NodeJS.ProcessEnv, execArgv: readonly string[]): HeapPlan {
  if (maxHeapMiB === undefined) return { type: 'none' }
  if (env[APPLIED_ENV] === String(maxHeapMiB)) return { type: 'applied', limitMiB: maxHeapMiB }
  const given = [env.NODE_OPTIONS ?? '', ...execArgv].map((s) => FLAG.exec(s)?.[0]).find((m) => m !== undefined)
  if (given !== undefined) return { type: 'overridden', flag: given }
  const nodeOptions = [env.NODE_OPTIONS, `--max-old-space-size=${maxHeapMiB}`].filter((s) => s !== undefined && s !== '').join(' ')
  const next: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) next[k] = v
  next.NODE_OPTIONS = nodeOptions
  next[APPLIED_ENV] = String(maxHeapMiB)
  return { type: 'reexec', env: next }
}

/** V8's heap limit in force, in MiB. */
export function heapLimitMiB (): number {
  return Math.round(getHeapStatistics().heap_size_limit / 1048576)
}

type Execve = (file: string, args: string[], env: Record<string, string>) => never

/**
 * Applies the plan: re-executes in place (never returns) when it must and can; otherwise returns a line to log.
 * `argv` is the command line that starts this process again (the executable, or node with its flags and entry).
 */
export function applyHeapLimit (plan: HeapPlan, argv: string[]): { level: 'info' | 'warn'; msg: string } | undefined {
  switch (plan.type) {
    case 'none': return undefined
    case 'applied':
      // Supervised apps inherit the environment: a Node app must not get our limit or our marker.
      forgetOwnFlag(plan.limitMiB)
      return { level: 'info', msg: `heap limit ${plan.limitMiB} MiB (memory.maxHeapMiB); V8 reports ${heapLimitMiB()} MiB with the young generation` }
    case 'overridden': return { level: 'warn', msg: `memory.maxHeapMiB ignored: ${plan.flag} is given to node already` }
    case 'reexec': {
      const execve = (process as unknown as { execve?: Execve }).execve
      if (typeof execve !== 'function') {
        return { level: 'warn', msg: `memory.maxHeapMiB not applied: this Node (${process.version}) cannot re-execute in place; start it with NODE_OPTIONS=${plan.env.NODE_OPTIONS.split(' ').pop()!}` }
      }
      execve(argv[0], argv.slice(1), plan.env)
    }
  }
}

/** Removes what the re-execution added to this process's environment (the apps it starts inherit it). */
function forgetOwnFlag (limitMiB: number): void {
  delete process.env[APPLIED_ENV]
  const opts = (process.env.NODE_OPTIONS ?? '').split(' ').filter((o) => o !== `--max-old-space-size=${limitMiB}`).join(' ')
  if (opts === '') delete process.env.NODE_OPTIONS
  else process.env.NODE_OPTIONS = opts
}
