/**
 * Modbus benchmark: points read per second over TCP on loopback from a pymodbus server (Debian's
 * python3-pymodbus, test/devices/fixtures/modbus-server.py), by `bindings.modbus` — next to `mbpoll` reading
 * the same 100 holding registers of the same server. mbpoll polls at most every 10 ms (`-l 10`, its floor), so
 * the like-for-like row polls at 10 ms too (`report: always`, so every poll is an event) and a ratio of 1 means
 * the binding keeps up; the second row is the `read` operation back to back, what the link can do unpaced
 * (no anchor: mbpoll has no unpaced mode).
 *   node --import tsx bench/modbus.ts [--smoke] [--seconds N]
 * `benchModbus({ seconds })` returns the rows for a suite that calls it in-process.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { BindingEvent } from '../core/bindings/types.ts'
import { createLogger } from '../core/logger.ts'
import { modbusFactory } from '../devices/modbus/index.ts'
import { findPython, ModbusServer } from '../test/devices/fixtures/modbus-server.ts'
import { finish, numArg, progress, row, type Row } from './lib/report.ts'

const REGISTERS = 100
const POLL_MS = 10
const base: Pick<Row, 'bench' | 'anchorName' | 'unit' | 'better'> = { bench: 'modbus', anchorName: `mbpoll -l ${POLL_MS} (its fastest poll)`, unit: 'points/s', better: 'higher' }
const MBPOLL = ['/usr/bin/mbpoll', '/usr/local/bin/mbpoll'].find((p) => existsSync(p))

/** mbpoll polling `count` holding registers every POLL_MS for `seconds`: registers read per second. */
async function mbpollRate (port: number, seconds: number): Promise<number> {
  const child = spawn(MBPOLL!, ['-m', 'tcp', '-p', String(port), '-a', '1', '-t', '4', '-r', '1', '-c', String(REGISTERS), '-l', String(POLL_MS), '127.0.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] })
  let polls = 0
  let firstAt = 0
  let lastAt = 0
  let tail = ''
  child.stdout.on('data', (d: Buffer) => {
    // One "[100]:" line ends each complete poll.
    const text = tail + d.toString()
    const n = text.split(`[${REGISTERS}]:`).length - 1
    tail = text.slice(-8)
    if (n > 0) { if (polls === 0) firstAt = performance.now(); polls += n; lastAt = performance.now() }
  })
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  child.kill('SIGKILL')
  await new Promise((resolve) => child.once('exit', resolve))
  return polls > 1 ? ((polls - 1) * REGISTERS) / ((lastAt - firstAt) / 1000) : NaN
}

export async function benchModbus (opts: { seconds: number }): Promise<Row[]> {
  const out: Row[] = []
  const polled = `${REGISTERS} holding registers over TCP loopback, polled every ${POLL_MS} ms`
  const unpaced = `${REGISTERS} holding registers over TCP loopback, read operation back to back`
  const py = findPython()
  if ('skip' in py) {
    for (const metric of [polled, unpaced]) out.push({ ...base, metric, skip: py.skip, anchorSkip: py.skip })
    return out
  }
  const map = { units: { 1: { hr: { 0: Array.from({ length: REGISTERS }, (_, i) => i) } } } }
  const server = await ModbusServer.start(py.python, 'tcp', 0, map)
  try {
    let anchor: number | undefined
    let anchorSkip: string | undefined
    if (MBPOLL === undefined) anchorSkip = 'mbpoll not installed (apt-get install mbpoll)'
    else { progress('mbpoll …'); anchor = await mbpollRate(server.port, opts.seconds) }
    const points = Array.from({ length: REGISTERS }, (_, i) => ({ name: `r${i}`, function: 'holding', address: i }))
    const create = async (interval: string) => await modbusFactory.create({
      name: 'bench', type: 'bindings.modbus',
      metadata: { host: '127.0.0.1', port: String(server.port), timeoutMs: '1000', profile: JSON.stringify({ interval, report: 'always', points }) },
    }, { log: createLogger({ level: 'silent' }) })

    progress('bindings.modbus polling …')
    const b = await create(`${POLL_MS}ms`)
    // Points after the first event, over the time since it (connect time is not polling).
    let events = 0; let got = 0; let firstAt = 0; let lastAt = 0
    b.onEvent = (e: BindingEvent) => {
      if (events++ === 0) firstAt = performance.now()
      else got += Object.keys(e.value as object).length
      lastAt = performance.now()
    }
    await b.open()
    await new Promise((resolve) => setTimeout(resolve, opts.seconds * 1000))
    await b.close()
    out.push({ ...base, metric: polled, mecha: got > 0 ? got / ((lastAt - firstAt) / 1000) : NaN, anchor, anchorSkip })

    progress('bindings.modbus read operation …')
    const r = await create('1h')
    await r.open()
    let reads = 0
    const started = performance.now()
    while (performance.now() - started < opts.seconds * 1000) { await r.invoke('read', {}, {}); reads++ }
    const elapsed = (performance.now() - started) / 1000
    await r.close()
    // No anchor: mbpoll cannot poll faster than every 10 ms, and one mbpoll process per read would measure exec.
    out.push({ ...base, metric: unpaced, mecha: (reads * REGISTERS) / elapsed, anchorSkip: 'mbpoll cannot poll unpaced (its floor is -l 10)' })
  } finally {
    await server.kill()
  }
  return out
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seconds = numArg('seconds', 5, 2) // three phases of this length: a rate over 5 s is as steady as over 10
  const rows = await benchModbus({ seconds })
  for (const r of rows) row(r)
  finish()
}
