/**
 * State API benchmark: saves/s and gets/s through the Dapr HTTP API (a child process serving the state routes
 * on the real API server over LevelDB), sequential and 32 concurrent, with p50/p99 latency — and the same
 * operations straight on classic-level in the same run, as the anchor. Prints a table with the ratios.
 *   node --import tsx bench/state.ts [--n 3000] [--durability process|power|both]
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ClassicLevel } from 'classic-level'

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : def
}
const N = Number(arg('n', '3000'))
const CONCURRENCY = 32
const durabilities = arg('durability', 'both') === 'both' ? ['process', 'power'] as const : [arg('durability', 'process') as 'process' | 'power']
const ROOT = join(import.meta.dirname, '..')
const value = (i: number): object => ({ sensor: `s-${i % 50}`, temp: 20 + (i % 100) / 10, ts: 1_700_000_000_000 + i, tags: ['a', 'b'] })

interface Result { opsPerSec: number; p50: number; p99: number }

async function measure (n: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Result> {
  const lat: number[] = new Array(n)
  let next = 0
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < n; i = next++) {
      const t0 = process.hrtime.bigint()
      await op(i)
      lat[i] = Number(process.hrtime.bigint() - t0) / 1e6
    }
  }))
  const secs = Number(process.hrtime.bigint() - started) / 1e9
  lat.sort((a, b) => a - b)
  return { opsPerSec: n / secs, p50: lat[Math.floor(n * 0.5)], p99: lat[Math.min(n - 1, Math.floor(n * 0.99))] }
}

function http (agent: Agent, port: number, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function viaHttp (durability: string, dir: string): Promise<Record<string, Result>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/state/fixtures/state-server.ts', dir, durability], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const closed = once(child, 'close')
  const [line] = await once(createInterface({ input: child.stdout! }), 'line') as [string]
  const { port } = JSON.parse(line) as { port: number }
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const save = (prefix: string) => async (i: number): Promise<void> => {
    const s = await http(agent, port, 'POST', '/v1.0/state/statestore', JSON.stringify([{ key: `${prefix}${i}`, value: value(i) }]))
    if (s !== 204) throw new Error(`save answered ${s}`)
  }
  const get = (prefix: string) => async (i: number): Promise<void> => {
    const s = await http(agent, port, 'GET', `/v1.0/state/statestore/${prefix}${i}`)
    if (s !== 200) throw new Error(`get answered ${s}`)
  }
  await measure(300, CONCURRENCY, save('warm')) // JIT and connection warm-up
  const out = {
    'save seq': await measure(N, 1, save('s')),
    'save x32': await measure(N, CONCURRENCY, save('c')),
    'get seq': await measure(N, 1, get('s')),
    'get x32': await measure(N, CONCURRENCY, get('c')),
  }
  agent.destroy()
  child.kill('SIGTERM')
  await closed
  return out
}

async function viaLevel (durability: string, dir: string): Promise<Record<string, Result>> {
  const db = new ClassicLevel<string, string>(join(dir, 'anchor'), { valueEncoding: 'utf8' })
  await db.open()
  const sync = durability === 'power'
  const put = (prefix: string) => async (i: number): Promise<void> => { await db.put(`${prefix}${i}`, JSON.stringify(value(i)), { sync }) }
  const get = (prefix: string) => async (i: number): Promise<void> => { if (await db.get(`${prefix}${i}`) === undefined) throw new Error('missing') }
  await measure(300, CONCURRENCY, put('warm'))
  const out = {
    'save seq': await measure(N, 1, put('s')),
    'save x32': await measure(N, CONCURRENCY, put('c')),
    'get seq': await measure(N, 1, get('s')),
    'get x32': await measure(N, CONCURRENCY, get('c')),
  }
  await db.close()
  return out
}

const f = (n: number, d = 0): string => n.toFixed(d)
console.log(`state bench: ${N} ops per row, values ~${JSON.stringify(value(1)).length} B JSON, ${CONCURRENCY} concurrent for x32 rows`)
for (const durability of durabilities) {
  const dir = await mkdtemp(join(tmpdir(), 'mecha-bench-state-'))
  try {
    const api = await viaHttp(durability, dir)
    const lvl = await viaLevel(durability, dir)
    console.log(`\ndurability: ${durability}${durability === 'power' ? ' (fsync before ack; group commit for the API, sync:true per put for classic-level)' : ''}`)
    console.log('| operation | HTTP API ops/s | p50 ms | p99 ms | classic-level ops/s | p50 ms | p99 ms | API / classic-level |')
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const row of Object.keys(api)) {
      const a = api[row]; const l = lvl[row]
      console.log(`| ${row} | ${f(a.opsPerSec)} | ${f(a.p50, 2)} | ${f(a.p99, 2)} | ${f(l.opsPerSec)} | ${f(l.p50, 3)} | ${f(l.p99, 3)} | ${(a.opsPerSec / l.opsPerSec).toFixed(3)} |`)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
