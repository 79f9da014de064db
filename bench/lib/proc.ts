/** Figures read from /proc and small numeric helpers shared by the benchmarks. */
import { readFileSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo } from 'node:net'
import { sleep } from './child.ts'

/** Resident set size of a process, KiB (NaN when it is gone). */
export function rssKiB (pid: number): number {
  try { return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) } catch { return NaN }
}

const CLK_TCK = 100 // USER_HZ on Linux: /proc/<pid>/stat counts in 1/100 s

/** CPU seconds a process has used so far (utime + stime from /proc/<pid>/stat). */
export function cpuSeconds (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK // fields 14 and 15 (utime, stime), 1-based
  } catch { return NaN }
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

export function median (xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 0.5)
}

/** A free loopback port: bind port 0, read it, release it (only where a port must be known before the start). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

export function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' })
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => { s.destroy(); resolve(false) })
  })
}

/** Polls until the port accepts a connection; false when `alive()` turns false or the deadline passes. */
export async function waitPort (port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && alive()) {
    if (await canConnect(port)) return true
    await sleep(10)
  }
  return false
}
