/**
 * Publish → delivery benchmark: `POST /v1.0/publish/pubsub/<topic>` on the runtime's Dapr HTTP API (its own
 * process; CloudEvents envelope, as apps use it) until an MQTT.js subscriber on the runtime's broker receives
 * the event — next to the same operation done directly, an MQTT.js QoS 1 publish to the same broker until the
 * same subscriber receives it, in the same run. One at a time and 32 in flight; each operation ends at its
 * delivery, so latency is publish-to-delivery and ops/s counts delivered events.
 * The same publishes over gRPC (PublishEvent on `dapr.proto.runtime.v1.Dapr`), in the same run.
 *   node --import tsx bench/pubsub.ts [--smoke] [--n N] [--max-ms N]
 */
import { Agent } from 'node:http'
import type { MqttClient } from 'mqtt'
import { installCleanup } from './lib/child.ts'
import { startMecha } from './lib/mecha.ts'
import { daprGrpc } from './lib/grpc-client.ts'
import { httpRequest, measure, type OpResult } from './lib/measure.ts'
import { connect } from './lib/mqtt-load.ts'
import { finish, numArg, progress, row } from './lib/report.ts'

installCleanup()
const N = numArg('n', 3000, 50)
const MAX_MS = numArg('max-ms', 15_000, 1000)
const CONCURRENCY = 32

/** Waits for deliveries by key; the subscriber resolves them. */
class Deliveries {
  readonly #waiting = new Map<string, () => void>()
  wait (key: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.#waiting.delete(key); reject(new Error(`${key} not delivered within 10 s`)) }, 10_000)
      this.#waiting.set(key, () => { clearTimeout(t); resolve() })
    })
  }
  arrived (key: string): void { const r = this.#waiting.get(key); this.#waiting.delete(key); r?.() }
}

type Publish = (key: string) => Promise<void>
interface Transport { name: string; skip?: string; open?: (apiPort: number, grpcPort: number | undefined) => Promise<{ publish: Publish; close: () => Promise<void> }> }

const TRANSPORTS: Transport[] = [
  {
    name: 'HTTP API publish',
    open: async (port) => {
      const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
      return {
        publish: async (key) => { const s = await httpRequest(agent, port, 'POST', '/v1.0/publish/pubsub/bench/ps', JSON.stringify({ key })); if (s !== 204) throw new Error(`publish answered ${s}`) },
        close: async () => { agent.destroy() },
      }
    },
  },
  {
    name: 'gRPC API publish',
    open: async (_port, grpcPort) => {
      if (grpcPort === undefined) throw new Error('the runtime serves no gRPC port')
      const c = await daprGrpc(grpcPort)
      return {
        publish: async (key) => { await c.call('PublishEvent', { pubsub_name: 'pubsub', topic: 'bench/ps', data: Buffer.from(JSON.stringify({ key })), data_content_type: 'application/json' }) },
        close: async () => { c.close() },
      }
    },
  },
]

async function run (publish: Publish, d: Deliveries, tag: string): Promise<Record<string, OpResult>> {
  const op = (p: string) => async (i: number): Promise<void> => { const key = `${tag}${p}${i}`; const got = d.wait(key); await publish(key); await got }
  await measure(Math.min(200, N), CONCURRENCY, MAX_MS, op('w'))
  return {
    'publish → delivery, sequential': await measure(N, 1, MAX_MS, op('s')),
    'publish → delivery, 32 in flight': await measure(N, CONCURRENCY, MAX_MS, op('c')),
  }
}

async function main (): Promise<void> {
  const mecha = await startMecha()
  const url = `mqtt://127.0.0.1:${mecha.mqttPort}`
  let sub: MqttClient | undefined; let pub: MqttClient | undefined
  try {
    const d = new Deliveries()
    sub = await connect(url, 'bench-ps-sub')
    sub.on('message', (_t, payload) => {
      const msg = JSON.parse(payload.toString()) as { key?: string; data?: { key?: string } }
      d.arrived(msg.data?.key ?? msg.key ?? '')
    })
    await sub.subscribeAsync('bench/ps', { qos: 1 })
    pub = await connect(url, 'bench-ps-pub')
    const direct = pub
    const anchor = await run(async (key) => { await direct.publishAsync('bench/ps', JSON.stringify({ key }), { qos: 1 }) }, d, 'a')
    for (const t of TRANSPORTS) {
      const base = { bench: 'pubsub', anchorName: 'MQTT.js QoS 1 pub → sub' }
      if (t.open === undefined) { row({ ...base, metric: t.name, unit: 'events/s', better: 'higher', skip: t.skip }); continue }
      const { publish, close } = await t.open(mecha.apiPort, mecha.grpcPort)
      const m = await run(publish, d, 'm')
      await close()
      for (const [op, r] of Object.entries(m)) {
        const a = anchor[op]!
        progress(`${t.name} ${op}: ${r.opsPerSec.toFixed(0)}/s (MQTT.js ${a.opsPerSec.toFixed(0)}/s)`)
        row({ ...base, metric: `${t.name} ${op} throughput`, unit: 'events/s', better: 'higher', mecha: r.opsPerSec, anchor: a.opsPerSec, note: `${r.n} events; both through Mecha's broker` })
        row({ ...base, metric: `${t.name} ${op} latency p50`, unit: 'ms', better: 'lower', mecha: r.p50, anchor: a.p50 })
        row({ ...base, metric: `${t.name} ${op} latency p99`, unit: 'ms', better: 'lower', mecha: r.p99, anchor: a.p99 })
      }
    }
  } finally {
    await sub?.endAsync(true).catch(() => {})
    await pub?.endAsync(true).catch(() => {})
    await mecha.close()
  }
  finish()
}

await main()
