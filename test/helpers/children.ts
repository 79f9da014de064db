/**
 * One registry of the child processes a test file starts (runtimes, mosquitto, apps, fixtures), so that none
 * outlives the file and a failed assertion cannot leave the file hanging until the runner's time limit:
 *  - every tracked child is SIGKILLed (its whole process group when it was spawned `detached`) when this
 *    process exits for any reason: normal exit, uncaught exception or unhandled rejection (both end in
 *    'exit'), SIGINT/SIGTERM/SIGHUP;
 *  - the runner SIGKILLs the process group of the test file, which does not reach detached children (own
 *    group) and, being SIGKILL, runs none of the above: each child is therefore also written to the file named
 *    by MECHA_TEST_CHILDREN_FILE, and the runner kills whatever is still listed when the file ends;
 *  - `cleanupEach(test)` kills, after each test, what that test started and left running (a failed assertion
 *    skips the test's own stop calls) before the next test starts;
 *  - once uvu has printed its summary, a file that has not exited within END_GRACE_MS (a live socket, server
 *    or child left behind by a failed test) is ended: children killed, process exited with uvu's code, or 1
 *    when it left child processes running after passing tests (a leak is a defect, it used to hang).
 */
// uvu first: its module creates `globalThis.UVU_QUEUE[0]`, the group our end-of-file step must come after.
import 'uvu'
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import type { Test } from 'uvu'

interface Entry { proc: ChildProcess; pid: number; group: boolean; label: string; seq: number }

const live = new Map<number, Entry>()
let seq = 0
const LEDGER = process.env.MECHA_TEST_CHILDREN_FILE
const END_GRACE_MS = 2000

function ledger (line: string): void {
  if (LEDGER === undefined || LEDGER === '') return
  try { appendFileSync(LEDGER, line + '\n') } catch {}
}

function killEntry (e: Entry): void {
  try { process.kill(e.group ? -e.pid : e.pid, 'SIGKILL') } catch {}
  // A detached child whose group is already gone may still be alive on its own pid.
  if (e.group) try { process.kill(e.pid, 'SIGKILL') } catch {}
  // SIGKILL cannot be refused: it is dead (or a zombie about to be reaped), so the runner has nothing to do.
  ledger(`-${e.pid}`)
}

/** Registers a child spawned elsewhere. `group`: it leads its own process group (spawned with `detached`). */
export function track<T extends ChildProcess> (proc: T, label: string, opts: { group?: boolean } = {}): T {
  const pid = proc.pid
  if (pid === undefined) return proc // spawn failed: the 'error' event tells the caller, nothing to kill
  const e: Entry = { proc, pid, group: opts.group ?? false, label, seq: ++seq }
  live.set(pid, e)
  ledger(`+${pid} ${e.group ? 'group' : 'pid'} ${label}`)
  proc.once('exit', () => { live.delete(pid); ledger(`-${pid}`) })
  return proc
}

/** `child_process.spawn`, tracked. A `detached` child is killed as a process group. */
export function spawnTracked (command: string, args: readonly string[], options: SpawnOptions & { label?: string } = {}): ChildProcess {
  const { label, ...spawnOptions } = options
  return track(spawn(command, args, spawnOptions), label ?? command, { group: spawnOptions.detached === true })
}

/** Children still running: label and pid. */
export function liveChildren (): Array<{ pid: number; label: string }> {
  return [...live.values()].map((e) => ({ pid: e.pid, label: e.label }))
}

/** SIGKILLs every tracked child still running (synchronous: safe in an 'exit' handler). Returns how many. */
export function killAll (): number {
  const all = [...live.values()]
  for (const e of all) killEntry(e)
  return all.length
}

process.on('exit', () => { killAll() })
for (const [signal, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
  // Ctrl-C reaches only the terminal's foreground group, not a detached runtime: take it down, then die as the
  // signal would have made us, unless this process handles the signal itself (a fixture that imports helpers).
  process.once(signal, () => { killAll(); if (process.listenerCount(signal) === 0) process.exit(128 + n) })
}

/**
 * Kills, after each test of `t`, the children that test started and left running, and says so on stderr:
 * after a failure so that the next tests (and the end of the file) are not held up by them, after a pass
 * because a test that leaves a process behind leaks it. Children started in `before` hooks are left alone.
 */
export function cleanupEach<T> (t: Test<T>): void {
  let mark = Number.POSITIVE_INFINITY
  t.before.each(() => { mark = seq })
  t.after.each(() => {
    // uvu runs after.each hooks inside its catch too: this must never throw.
    const left = [...live.values()].filter((e) => e.seq > mark)
    mark = Number.POSITIVE_INFINITY
    for (const e of left) {
      process.stderr.write(`[children] killing ${e.label} (pid ${e.pid}), left running by the test\n`)
      killEntry(e)
    }
  })
}

// The end of the file: appended as a last group to uvu's queue, which its exec() walks after every suite of
// this file (test.run() only ever pushes into group 0); it returns uvu's "no tests" result so it counts for
// nothing. The timer is unref'd: a file that ends by itself is not kept alive by it.
const queue = (globalThis as { UVU_QUEUE?: unknown[][] }).UVU_QUEUE
queue?.push([null, async () => {
  setTimeout(() => {
    const children = liveChildren()
    const resources = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap')
    process.stderr.write(`[children] tests finished but the file had not exited after ${END_GRACE_MS} ms ` +
      `(still open: ${resources.join(', ') || 'nothing visible'}; children: ${children.map((c) => `${c.label} pid ${c.pid}`).join(', ') || 'none'}): ending it\n`)
    killAll()
    const failed = process.exitCode !== undefined && process.exitCode !== 0
    if (!failed && children.length > 0) process.stderr.write('[children] passing tests left child processes running: counted as a failure\n')
    process.exit(failed || children.length > 0 ? 1 : 0)
  }, END_GRACE_MS).unref()
  return [true, 0, 0, 0]
}])
