/**
 * Broker benchmark: Mecha's embedded broker (the runtime as its own process) next to mosquitto 2 on the same
 * machine, the same load from the same client code, interleaved case by case so a busy machine slows both alike.
 *  - deliveries/s end to end and p50/p99 publish-to-receive latency, for QoS 0 and 1, 64 B and 1 KiB payloads,
 *    1 → 1, fan-in (8 publishers → 1 subscriber) and fan-out (1 publisher → 8 subscribers);
 *  - RSS per connected idle client (1,000 clients; the RSS growth divided by the count).
 *   node --import tsx bench/broker.ts [--smoke] [--deliveries N] [--max-ms N] [--idle-clients N]
 */
import { installCleanup, sleep } from './lib/child.ts'
import { startMecha, mechaCommand } from './lib/mecha.ts'
import { BenchMosquitto, mosquittoMissing } from './lib/mosquitto.ts'
import { closeAll, connectIdle, pubSubLoad, type LoadOptions, type LoadResult } from './lib/mqtt-load.ts'
import { rssKiB } from './lib/proc.ts'
import { finish, numArg, progress, row, SMOKE } from './lib/report.ts'

installCleanup()
const DELIVERIES = numArg('deliveries', 20_000, 200)
const MAX_MS = numArg('max-ms', 5000, 300)
const IDLE_CLIENTS = numArg('idle-clients', 1000, 50)
const ANCHOR = 'mosquitto 2'

const topologies = [
  { name: '1→1', publishers: 1, subscribers: 1 },
  { name: 'fan-in 8→1', publishers: 8, subscribers: 1 },
  { name: 'fan-out 1→8', publishers: 1, subscribers: 8 },
]

interface Target { url: string; pid: number }

async function idleRssPerClient (t: Target, tag: string): Promise<number> {
  await sleep(SMOKE ? 200 : 1000)
  const before = rssKiB(t.pid)
  const clients = await connectIdle(t.url, IDLE_CLIENTS, tag)
  await sleep(SMOKE ? 300 : 2000) // let the broker settle its per-client buffers
  const after = rssKiB(t.pid)
  await closeAll(clients)
  return Math.max(0, after - before) / IDLE_CLIENTS
}

async function main (): Promise<void> {
  progress(`mecha runs as ${mechaCommand().what}; ${DELIVERIES} deliveries or ${MAX_MS} ms per case`)
  const missing = mosquittoMissing()
  const mecha = await startMecha()
  const mosq = missing === undefined ? await BenchMosquitto.start() : undefined
  const targets: Record<'mecha' | 'anchor', Target | undefined> = {
    mecha: { url: `mqtt://127.0.0.1:${mecha.mqttPort}`, pid: mecha.child.pid },
    anchor: mosq === undefined ? undefined : { url: mosq.url, pid: mosq.pid },
  }
  try {
    for (const qos of [0, 1] as const) {
      for (const payloadBytes of [64, 1024]) {
        for (const topo of topologies) {
          const opts: LoadOptions = { qos, payloadBytes, publishers: topo.publishers, subscribers: topo.subscribers, deliveries: DELIVERIES, maxMs: MAX_MS }
          const label = `QoS ${qos} ${payloadBytes === 1024 ? '1 KiB' : `${payloadBytes} B`} ${topo.name}`
          const m = await pubSubLoad(targets.mecha!.url, opts)
          const a = targets.anchor === undefined ? undefined : await pubSubLoad(targets.anchor.url, opts)
          progress(`${label}: mecha ${m.perSec.toFixed(0)}/s${a === undefined ? '' : `, mosquitto ${a.perSec.toFixed(0)}/s`}`)
          const lossNote = (r: LoadResult | undefined, who: string): string => (r !== undefined && r.delivered < r.expected ? `${who} delivered ${r.delivered} of ${r.expected}` : '')
          const note = [lossNote(m, 'Mecha'), lossNote(a, 'mosquitto'), `${m.delivered} deliveries`].filter((s) => s !== '').join('; ')
          const base = { bench: 'broker', anchorName: ANCHOR, ...(missing === undefined ? {} : { anchorSkip: missing }) }
          row({ ...base, metric: `${label} throughput`, unit: 'deliveries/s', better: 'higher', mecha: m.perSec, anchor: a?.perSec, note })
          row({ ...base, metric: `${label} latency p50`, unit: 'ms', better: 'lower', mecha: m.p50, anchor: a?.p50 })
          row({ ...base, metric: `${label} latency p99`, unit: 'ms', better: 'lower', mecha: m.p99, anchor: a?.p99 })
        }
      }
    }
    const m = await idleRssPerClient(targets.mecha!, 'm')
    const a = targets.anchor === undefined ? undefined : await idleRssPerClient(targets.anchor, 'a')
    row({ bench: 'broker', metric: `RSS per idle client (${IDLE_CLIENTS} connected)`, unit: 'KiB', better: 'lower', mecha: m, anchor: a, anchorName: ANCHOR, ...(missing === undefined ? {} : { anchorSkip: missing }) })
  } finally {
    await mecha.close()
    await mosq?.close()
  }
  finish()
}

await main()
