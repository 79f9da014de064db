import { readFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'

/**
 * Every process an app started, so that stopping it leaves no orphan behind — also one that left the app's
 * process group with setsid(2) and whose parent died (it is then re-parented to init, and the ppid chain is
 * gone). Three nets, each catching what the one before can miss:
 *  1. the app's process group (the app is spawned detached, so its pgid is its pid);
 *  2. descendants by ppid chains in /proc/<pid>/stat, scanned periodically while the app runs and again at
 *     stop; once seen, a process stays tracked (by pid and start time, so a reused pid is never signalled);
 *  3. at stop, every process started after the app whose initial environment carries the app's marker
 *     variable (each spawn gets a fresh one; /proc/<pid>/environ cannot be changed after exec).
 * Where /proc does not exist only the process group is used.
 */

export interface ProcInfo {
  readonly pid: number
  readonly ppid: number
  readonly pgid: number
  readonly state: string
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot; with the pid it names one process. */
  readonly start: number
}

/** Parses /proc/<pid>/stat (the command name may hold spaces and parentheses: it ends at the last ")"). */
export function parseStat (text: string): ProcInfo | undefined {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) return undefined
  const pid = Number(text.slice(0, open).trim())
  const f = text.slice(close + 2).split(' ')
  // f[0] is field 3 (state); field n is f[n - 3].
  const info = { pid, state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), start: Number(f[19]) }
  return Number.isInteger(pid) && Number.isInteger(info.ppid) ? info : undefined
}

/** The process table (without threads); empty where /proc cannot be read. */
export async function readProcTable (): Promise<Map<number, ProcInfo>> {
  const table = new Map<number, ProcInfo>()
  let names: string[]
  try { names = await readdir('/proc') } catch { return table }
  await Promise.all(names.filter((n) => /^\d+$/.test(n)).map(async (n) => {
    try {
      const info = parseStat(await readFile(`/proc/${n}/stat`, 'utf8'))
      if (info !== undefined) table.set(info.pid, info)
    } catch { /* exited meanwhile */ }
  }))
  return table
}

const alive = (p: ProcInfo | undefined): p is ProcInfo => p !== undefined && p.state !== 'Z' && p.state !== 'X'

export class ProcessTree {
  readonly #root: number
  readonly #marker: string | undefined
  /** pid → start time of every process seen in the tree (the root included). */
  readonly #known = new Map<number, number>()
  /** The root's start time; 0 (every process) when it could not be read. */
  readonly #rootStart: number

  /** Call right after spawning `rootPid`; `marker` is `NAME=value` as put in the app's environment. */
  constructor (rootPid: number, marker?: string) {
    this.#root = rootPid
    this.#marker = marker
    let start = 0
    try {
      const info = parseStat(readFileSync(`/proc/${rootPid}/stat`, 'utf8'))
      if (info !== undefined) { start = info.start; this.#known.set(rootPid, info.start) }
    } catch { /* exited already, or no /proc */ }
    this.#rootStart = start
  }

  /** Adds every current descendant of the root and of the processes already tracked; drops the dead. */
  async scan (opts: { environ?: boolean } = {}): Promise<void> {
    const table = await readProcTable()
    if (table.size === 0) return
    for (const [pid, start] of this.#known) {
      const p = table.get(pid)
      if (!alive(p) || p.start !== start) this.#known.delete(pid)
    }
    const children = new Map<number, ProcInfo[]>()
    for (const p of table.values()) {
      const list = children.get(p.ppid)
      if (list === undefined) children.set(p.ppid, [p]); else list.push(p)
    }
    const queue = [...this.#known.keys()]
    // Members of the app's process group that were re-parented are still the app's.
    for (const p of table.values()) if (p.pgid === this.#root && p.start >= this.#rootStart) queue.push(p.pid)
    if (opts.environ === true && this.#marker !== undefined) queue.push(...await this.#marked(table))
    while (queue.length > 0) {
      const pid = queue.pop()!
      const p = table.get(pid)
      if (!alive(p) || pid === process.pid) continue
      this.#known.set(pid, p.start)
      for (const c of children.get(pid) ?? []) if (!this.#known.has(c.pid)) queue.push(c.pid)
    }
  }

  async #marked (table: Map<number, ProcInfo>): Promise<number[]> {
    const needle = Buffer.from(`\0${this.#marker!}\0`)
    const found: number[] = []
    await Promise.all([...table.values()].filter((p) => p.start >= this.#rootStart && alive(p) && !this.#known.has(p.pid)).map(async (p) => {
      try {
        // environ is NUL-separated; the leading NUL keeps `XMECHA…` from matching.
        const env = Buffer.concat([Buffer.from([0]), await readFile(`/proc/${p.pid}/environ`)])
        if (env.includes(needle)) found.push(p.pid)
      } catch { /* another user's process, or gone */ }
    }))
    return found
  }

  /** Tracked processes still alive (after the last scan). */
  get pids (): number[] { return [...this.#known.keys()] }

  /** Signals the process group and every tracked process; ESRCH (already gone) is not an error. */
  signal (signal: NodeJS.Signals): void {
    try { process.kill(-this.#root, signal) } catch { /* no such group any more */ }
    for (const pid of this.#known.keys()) {
      if (pid === process.pid) continue
      try { process.kill(pid, signal) } catch { /* gone */ }
    }
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms) })

/**
 * SIGTERM to the whole tree, then SIGKILL to whatever of it is still alive after `graceMs` (systemd's
 * KillMode=control-group, by /proc instead of a cgroup). `exited` settles when the root process has exited.
 * Real time on purpose: it waits for real processes. Bounded: returns at most ~2 s after the grace period.
 */
export async function terminateTree (tree: ProcessTree, exited: Promise<unknown>, graceMs: number): Promise<void> {
  let rootDone = false
  void exited.then(() => { rootDone = true })
  await tree.scan({ environ: true })
  tree.signal('SIGTERM')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    await pause(Math.max(1, Math.min(50, deadline - Date.now())))
    await tree.scan()
    if (rootDone && tree.pids.length === 0) return
  }
  for (let round = 0; round < 40; round++) {
    await tree.scan({ environ: round === 0 })
    if (rootDone && tree.pids.length === 0) return
    tree.signal('SIGKILL')
    await pause(50)
  }
}
