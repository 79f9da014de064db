/**
 * State API benchmark: save and get through the Dapr HTTP API of the runtime (its own process, the built-in
 * `statestore` over LevelDB, durability `process`), one at a time and 32 in flight, ops/s and p50/p99 — next to
 * the same operations straight on classic-level (puts and gets of the same JSON values in a temp dir), in the
 * same run. What the ratio shows is the price of HTTP, validation, ETags and the store layer over raw LevelDB.
 * The same operations over gRPC (SaveState/GetState on `dapr.proto.runtime.v1.Dapr`), in the same run.
 *   node --import tsx bench/state.ts [--smoke] [--n N] [--max-ms N]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { installCleanup } from './lib/child.ts'
import { startMecha } from './lib/mecha.ts'
import { daprGrpc } from './lib/grpc-client.ts'
import { httpRequest, measure, type OpResult } from './lib/measure.ts'
import { finish, numArg, progress, row } from './lib/report.ts'

installCleanup()
const N = numArg('n', 3000, 50)
const MAX_MS = numArg('max-ms', 15_000, 1000)
const CONCURRENCY = 32
const value = (i: number): object => ({ sensor: `s-${i % 50}`, temp: 20 + (i % 100) / 10, ts: 1_700_000_000_000 + i, tags: ['a', 'b'] })

type Ops = Record<'save' | 'get', (prefix: string) => (i: number) => Promise<void>>
interface Transport { name: string; skip?: string; open?: (apiPort: number, grpcPort: number | undefined) => Promise<{ ops: Ops; close: () => Promise<void> }> }

const TRANSPORTS: Transport[] = [
  {
    name: 'HTTP API',
    open: async (port) => {
      const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
      const ops: Ops = {
        save: (p) => async (i) => { const s = await httpRequest(agent, port, 'POST', '/v1.0/state/statestore', JSON.stringify([{ key: `${p}${i}`, value: value(i) }])); if (s !== 204) throw new Error(`save answered ${s}`) },
        get: (p) => async (i) => { const s = await httpRequest(agent, port, 'GET', `/v1.0/state/statestore/${p}${i}`); if (s !== 200) throw new Error(`get answered ${s}`) },
      }
      return { ops, close: async () => { agent.destroy() } }
    },
  },
  {
    name: 'gRPC API',
    open: async (_port, grpcPort) => {
      if (grpcPort === undefined) throw new Error('the runtime serves no gRPC port')
      const c = await daprGrpc(grpcPort)
      const ops: Ops = {
        save: (p) => async (i) => { await c.call('SaveState', { store_name: 'statestore', states: [{ key: `${p}${i}`, value: Buffer.from(JSON.stringify(value(i))) }] }) },
        get: (p) => async (i) => { const r = await c.call('GetState', { store_name: 'statestore', key: `${p}${i}` }); if (r.data.length === 0) throw new Error('missing') },
      }
      return { ops, close: async () => { c.close() } }
    },
  },
]

async function run (ops: Ops): Promise<Record<string, OpResult>> {
  await measure(Math.min(300, N), CONCURRENCY, MAX_MS, ops.save('warm')) // JIT and connections
  return {
    'save, sequential': await measure(N, 1, MAX_MS, ops.save('s')),
    'save, 32 in flight': await measure(N, CONCURRENCY, MAX_MS, ops.save('c')),
    'get, sequential': await measure(N, 1, MAX_MS, ops.get('s')),
    'get, 32 in flight': await measure(N, CONCURRENCY, MAX_MS, ops.get('c')),
  }
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-state-'))
  const db = new ClassicLevel<string, string>(join(dir, 'anchor'), { valueEncoding: 'utf8' })
  await db.open()
  const anchor = await run({
    save: (p) => async (i) => { await db.put(`${p}${i}`, JSON.stringify(value(i))) },
    get: (p) => async (i) => { if (await db.get(`${p}${i}`) === undefined) throw new Error('missing') },
  })
  await db.close()
  await rm(dir, { recursive: true, force: true })
  const mecha = await startMecha()
  try {
    for (const t of TRANSPORTS) {
      const base = { bench: 'state', anchorName: 'classic-level direct' }
      if (t.open === undefined) {
        row({ ...base, metric: `${t.name} save/get`, unit: 'ops/s', better: 'higher', skip: t.skip })
        continue
      }
      const { ops, close } = await t.open(mecha.apiPort, mecha.grpcPort)
      const m = await run(ops)
      await close()
      for (const [op, r] of Object.entries(m)) {
        const a = anchor[op]!
        progress(`${t.name} ${op}: ${r.opsPerSec.toFixed(0)} ops/s (classic-level ${a.opsPerSec.toFixed(0)})`)
        row({ ...base, metric: `${t.name} ${op} throughput`, unit: 'ops/s', better: 'higher', mecha: r.opsPerSec, anchor: a.opsPerSec, note: `${r.n} ops` })
        row({ ...base, metric: `${t.name} ${op} latency p50`, unit: 'ms', better: 'lower', mecha: r.p50, anchor: a.p50 })
        row({ ...base, metric: `${t.name} ${op} latency p99`, unit: 'ms', better: 'lower', mecha: r.p99, anchor: a.p99 })
      }
    }
  } finally {
    await mecha.close()
  }
  finish()
}

await main()
