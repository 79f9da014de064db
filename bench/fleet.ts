/**
 * Fleet simulation (issue 15, item 7): N gateways — each the runtime in its own process, own data dir, ports 0,
 * gRPC and UI off, heap capped as on a 512 MB gateway — publish sensor readings at a fixed rate (QoS 1,
 * `sensors/temp`), forwarded by each one's cloud bridge (`sensors/#` → `gateways/{id}/sensors/`) to ONE cloud;
 * the cloud is unreachable for 30 s (5 s in smoke: stopped, then started again). Per case we measure, at a persistent QoS 1
 * subscriber on the cloud (`gateways/+/sensors/#`), deduplicating by the bridge's stable `mecha-id`:
 *  - per-gateway and total ledgers: the publisher's acked count; the outbox ledger from `/v1.0/metadata`
 *    (`cloud.outbox.accepted|delivered|dropped|queued`); distinct and duplicate receptions at the cloud; lost;
 *  - drain time: from the cloud's return until every message acked locally before it returned has arrived;
 *  - the reconnect storm: the cloud broker's CPU (utime+stime from /proc/<pid>/stat, its whole process tree) and
 *    the message rate at the subscriber, over the drain window and its peak second; the spread of the gateways'
 *    first message after the return;
 *  - each with the default jittered backoff (`cloud.backoff` 500 → 60,000 ms, decorrelated jitter) as the Mecha
 *    figure and, as the anchor column, the same fleet with `backoff.minMs = maxMs = 1000` (no spread: every
 *    gateway retries in lockstep once a second).
 * Clouds: mosquitto 2 (persistence on); and a two-node RabbitMQ cluster (rabbitmq_mqtt, MQTT 3.1.1, so the bridge
 * runs protocolVersion 4 with the JSON envelope carrying the id), gateways split across the nodes, the outage =
 * node 2 stopped (the subscriber stays on node 1). Smoke runs 2 gateways on mosquitto only.
 * To fit the suite's 15 minutes, the gateways' data dirs are reused: each case restarts the first N gateways on
 * their data dirs with the case's `cloud:` section (a clean stop and start, ~0.2 s each; a hot reload of a changed
 * cloud link would be cheaper but does not complete today), so the ledgers are read as differences and the
 * readings carry the case number. The RabbitMQ cluster boots once and serves both sizes (it idles through the
 * mosquitto cases of N = 10 and is stopped before those of N = 50).
 *   node --import tsx bench/fleet.ts [--smoke] [--gateways N] [--rate R] [--outage S] [--cloud mosquitto|rabbitmq]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { IPublishPacket, MqttClient } from 'mqtt'
import { installCleanup, sleep, startChild, waitUntil, type Child } from './lib/child.ts'
import { mechaCommand, ROOT, startMecha, type MechaProcess } from './lib/mecha.ts'
import { BenchMosquitto, mosquittoMissing } from './lib/mosquitto.ts'
import { connect } from './lib/mqtt-load.ts'
import { cpuSeconds, median, percentile, rssKiB, waitPort } from './lib/proc.ts'
import { finish, numArg, progress, row, SMOKE, type Row } from './lib/report.ts'

installCleanup()
const gwArg = process.argv.indexOf('--gateways')
const FLEETS: number[] = gwArg >= 0 ? [Number(process.argv[gwArg + 1])] : SMOKE ? [2] : [10, 50]
const RATE = numArg('rate', 20, 20) // msgs/s per gateway
const OUTAGE_S = numArg('outage', 30, 5)
const WARM_S = SMOKE ? 1 : 3 // steady state before the outage: three 1 s samples of the cloud's CPU and rate
// The jittered backoff waits at most maxMs (60 s) between attempts, so every gateway retries within 60 s of the
// return; a backlog of a few hundred readings per gateway then drains in a second or two. Past this, "not drained".
const DRAIN_LIMIT_MS = SMOKE ? 15_000 : 90_000
/** At the end of a case: how long nothing new arrives before the ledgers are read anyway. */
const STILL_MS = SMOKE ? 3000 : 10_000
const START_BATCH = 10 // gateways started at a time
/** Set by bench/run.ts: when this benchmark will be stopped (ms since the epoch). */
const DEADLINE = Number(process.env.MECHA_BENCH_DEADLINE ?? Infinity)
/**
 * What one case may need, from the limits it runs under: starts and links + steady + outage + the drain +
 * ledgers. Measured on 2 shared cores: mosquitto 99 s for a pair at N = 10, so half the drain limit is generous
 * for it; a RabbitMQ node takes up to a minute to accept again after its stop, and its N = 50 jittered case ran
 * into the whole drain limit (373 s for that pair), so it gets both. Each case of a pair is checked against the
 * time left on its own: the second one is judged after the first one's real time, not its worst.
 */
function caseWorstMs (cloud: 'mosquitto' | 'rabbitmq'): number {
  return cloud === 'mosquitto'
    ? 20_000 + WARM_S * 1000 + OUTAGE_S * 1000 + DRAIN_LIMIT_MS / 2 + 10_000
    : 20_000 + WARM_S * 1000 + OUTAGE_S * 1000 + 35_000 + DRAIN_LIMIT_MS + 10_000
}
const HEAP_MB = 256 // --max-old-space-size: what a 512 MB gateway leaves the runtime
const FIXED_MS = 1000
const cloudArg = process.argv.indexOf('--cloud')
const ONLY_CLOUD = cloudArg >= 0 ? process.argv[cloudArg + 1] : undefined
const RABBIT_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'
const RABBIT_CTL = '/usr/lib/rabbitmq/bin/rabbitmqctl'
const BENCH = 'fleet'

type Backoff = 'jittered' | 'fixed'

// ---------------------------------------------------------------- clouds

interface Cloud {
  readonly name: string
  /** URL for gateway i (RabbitMQ: split across the nodes). */
  urlFor: (i: number) => string
  /** Where the subscriber connects (stays up during the outage). */
  readonly consumerUrl: string
  readonly protocolVersion: 4 | 5
  /** PIDs whose process trees make up the broker (for CPU). */
  pids: () => number[]
  /** Which gateways the outage cuts off. */
  affected: (i: number) => boolean
  outageStart: () => Promise<void>
  outageEnd: () => Promise<void>
  /**
   * How long `outageEnd` is expected to take until the broker accepts connections again (RabbitMQ: a node's
   * boot, ~10 s; mosquitto: ~0): started that much early, so the broker is unreachable for the outage's length.
   */
  bootLeadMs: () => number
  close: () => Promise<void>
}

async function mosquittoCloud (): Promise<Cloud> {
  const m = await BenchMosquitto.start({ name: 'cloud-mosquitto', persistence: true, extra: ['autosave_interval 1'] })
  return {
    name: 'mosquitto 2',
    urlFor: () => m.url,
    consumerUrl: m.url,
    protocolVersion: 5,
    pids: () => [m.pid],
    affected: () => true,
    outageStart: async () => { await m.stop() },
    outageEnd: async () => { await m.startAgain() },
    bootLeadMs: () => 0,
    close: async () => { await m.close() },
  }
}

function rabbitMissing (): string | undefined {
  return existsSync(RABBIT_SERVER) ? undefined : `rabbitmq-server not installed (${RABBIT_SERVER}; apt-get install rabbitmq-server)`
}

/** A free port in [lo, hi) (RabbitMQ's CLI uses the distribution port + 10000, so it must stay low). */
async function portIn (lo: number, hi: number, taken: Set<number>): Promise<number> {
  for (let k = 0; k < 200; k++) {
    const p = lo + Math.floor(Math.random() * (hi - lo))
    if (taken.has(p)) continue
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer()
      s.once('error', () => { resolve(false) })
      s.listen(p, '127.0.0.1', () => { s.close(() => { resolve(true) }) })
    })
    if (ok) { taken.add(p); return p }
  }
  throw new Error(`no free port in ${lo}..${hi}`)
}

/** Every process in the tree under `root` (RabbitMQ: the shell script, beam.smp, erl_child_setup …). */
function tree (root: number): number[] {
  const kids = new Map<number, number[]>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8')
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1])
      const list = kids.get(ppid) ?? []; list.push(Number(d)); kids.set(ppid, list)
    } catch {}
  }
  const out: number[] = []
  const todo = [root]
  while (todo.length > 0 && out.length < 1000) { const p = todo.pop()!; out.push(p); todo.push(...(kids.get(p) ?? [])) }
  return out
}

async function rabbitCloud (): Promise<Cloud> {
  const base = await mkdtemp(join(tmpdir(), 'bench-rabbit-'))
  const taken = new Set<number>()
  const epmdPort = await portIn(14000, 15000, taken)
  await writeFile(join(base, '.erlang.cookie'), 'MECHAFLEETBENCHCOOKIE')
  await chmod(join(base, '.erlang.cookie'), 0o400)
  await writeFile(join(base, 'enabled_plugins'), '[rabbitmq_mqtt].\n')
  const common = { ...process.env, HOME: base, ERL_EPMD_PORT: String(epmdPort), RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins') }
  // epmd is ours (tracked, killed with everything else), on its own port: nothing else on the machine is touched.
  const epmd = startChild('epmd', '/usr/bin/epmd', ['-port', String(epmdPort)], { env: common })
  if (!await waitPort(epmdPort, 5000, () => epmd.running)) throw new Error(`epmd did not start: ${epmd.output()}`)
  interface Node { name: string; env: NodeJS.ProcessEnv; mqttPort: number; child?: Child; bootMs?: number }
  const nodes: Node[] = []
  for (const i of [1, 2]) {
    const dir = join(base, `n${i}`)
    await mkdir(join(dir, 'log'), { recursive: true })
    const amqp = await portIn(15000, 20000, taken)
    const dist = await portIn(20000, 25000, taken)
    const mqttPort = await portIn(25000, 30000, taken)
    await writeFile(join(dir, 'rabbitmq.conf'), [
      `listeners.tcp.default = 127.0.0.1:${amqp}`,
      `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
      'mqtt.allow_anonymous = true',
      'loopback_users = none',
      'disk_free_limit.absolute = 50MB',
      'log.console = false',
      'log.file.level = warning',
    ].join('\n') + '\n')
    const name = `fleet${i}@localhost`
    nodes.push({
      name,
      mqttPort,
      env: {
        ...common,
        RABBITMQ_NODENAME: name,
        RABBITMQ_NODE_PORT: String(amqp),
        RABBITMQ_DIST_PORT: String(dist),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
        RABBITMQ_PID_FILE: join(dir, 'pid'),
      },
    })
  }
  const nodePids = new Set<number>()
  // Only a pid whose command line still names our temp HOME: a remembered pid may be gone and reused since.
  const ours = (pid: number): boolean => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(base) } catch { return false } }
  const killNodes = (): void => { for (const pid of nodePids) { if (ours(pid)) { try { process.kill(pid, 'SIGKILL') } catch {} } } }
  process.on('exit', killNodes)
  const ctl = async (n: Node, args: string[], timeoutMs = 60_000): Promise<void> => {
    const c = startChild('rabbitmqctl', RABBIT_CTL, ['-n', n.name, ...args], { env: n.env })
    const timer = setTimeout(() => { void c.stop(2000) }, timeoutMs)
    const code = await c.exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} on ${n.name}: exit ${code}\n${c.output().slice(-2000)}`)
  }
  const startNode = async (n: Node): Promise<void> => {
    const t0 = performance.now()
    const child = startChild(`rabbitmq-${n.name}`, RABBIT_SERVER, [], { env: n.env })
    n.child = child
    // The MQTT listener opens once the node and its plugin have booted.
    if (!await waitPort(n.mqttPort, 120_000, () => child.running)) throw new Error(`${n.name} MQTT listener did not open:\n${child.output().slice(-2000)}`)
    n.bootMs = performance.now() - t0
    // beam.smp is a grandchild of the script we started: killing the script (what bench/lib/child.ts does when
    // the benchmark is ended) would leave the node running. Its tree is remembered now, while it is whole.
    for (const pid of tree(child.pid)) nodePids.add(pid)
  }
  const stopNode = async (n: Node): Promise<void> => { await n.child?.stop(30_000) }
  const [n1, n2] = nodes as [Node, Node]
  try {
    await Promise.all([startNode(n1), startNode(n2)])
    await ctl(n2, ['stop_app'])
    await ctl(n2, ['join_cluster', n1.name])
    await ctl(n2, ['start_app'], 120_000)
    if (!await waitPort(n2.mqttPort, 30_000, () => n2.child?.running === true)) throw new Error('node 2 MQTT listener did not reopen after join_cluster')
  } catch (err) {
    await Promise.all(nodes.map(stopNode)); killNodes(); process.off('exit', killNodes); await epmd.stop(); await rm(base, { recursive: true, force: true })
    throw err
  }
  progress(`rabbitmq: cluster ${n1.name} (mqtt ${n1.mqttPort}) + ${n2.name} (mqtt ${n2.mqttPort}) up`)
  return {
    name: 'RabbitMQ 3.10 cluster (2 nodes, MQTT plugin)',
    urlFor: (i) => `mqtt://127.0.0.1:${(i % 2 === 0 ? n1 : n2).mqttPort}`,
    consumerUrl: `mqtt://127.0.0.1:${n1.mqttPort}`,
    protocolVersion: 4,
    pids: () => nodes.flatMap((n) => (n.child?.running === true ? tree(n.child.pid) : [])),
    affected: (i) => i % 2 === 1,
    outageStart: async () => { await stopNode(n2) },
    outageEnd: async () => { await startNode(n2) },
    bootLeadMs: () => n2.bootMs ?? 0,
    close: async () => {
      await Promise.all(nodes.map(stopNode))
      killNodes(); nodePids.clear(); process.off('exit', killNodes)
      await epmd.stop()
      await rm(base, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------- the fleet

/** A gateway process and its sensor: started once, kept across the cases (each case reconfigures its link). */
interface Member { id: string; index: number; m: MechaProcess; pub: MqttClient }

/** One case's account of one gateway. */
interface Gateway {
  id: string
  index: number
  m: MechaProcess
  pub: MqttClient
  seq: number
  inflight: number
  acked: Set<number>
  pubErrors: number
  skipped: number
  /** Cloud side. */
  ids: Set<string>
  received: Set<number>
  dups: number
  /** Acked before the cloud returned and not yet received. */
  pending: Set<number>
  firstAfterUp?: number
  drainedAt?: number
  rssMaxKiB: number
  /** The outbox ledger when the case began: the ledger persists, so the case's figures are differences. */
  base?: Ledger
}

interface Ledger { accepted: number; delivered: number; dropped: number; queued: number }

async function ledger (m: MechaProcess): Promise<Ledger | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${m.apiPort}/v1.0/metadata`, { signal: AbortSignal.timeout(5000) })
    const body = await res.json() as { extended?: Record<string, string> }
    const e = body.extended ?? {}
    if (e['cloud.outbox.accepted'] === undefined) return { accepted: 0, delivered: 0, dropped: 0, queued: 0 }
    const dropped = Object.values(JSON.parse(e['cloud.outbox.dropped'] ?? '{}') as Record<string, number>).reduce((a, b) => a + b, 0)
    return { accepted: Number(e['cloud.outbox.accepted']), delivered: Number(e['cloud.outbox.delivered']), dropped, queued: Number(e['cloud.outbox.queued']) }
  } catch { return undefined }
}

/** `n` at a time (2 cores: starting or reloading 50 runtimes at once only makes each slower). */
async function inBatches<T> (items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn))
}

/** The fleet's gateways by index; each keeps its data dir (and outbox) across cases. */
const fleet: Member[] = []

/**
 * Starts the first `n` gateways with `cloudFor(i)` as their `cloud:` section: a gateway that ran in an earlier
 * case is stopped (SIGTERM: a clean stop, ~20 ms) and started on its data dir with the new config; the others
 * start fresh. Each heap capped, its own data dir, every port 0; its sensor connects anew (the port is new).
 */
async function deployFleet (n: number, cloudFor: (i: number) => Record<string, unknown>): Promise<void> {
  const t0 = performance.now()
  process.env.NODE_OPTIONS = `--max-old-space-size=${HEAP_MB}`
  try {
    await inBatches(Array.from({ length: n }, (_, i) => i), START_BATCH, async (index) => {
      const id = `gw-${String(index + 1).padStart(2, '0')}`
      const old = fleet[index]
      if (old !== undefined) await stopMember(old) // a no-op when the case's end stopped it
      const m = await startMecha(gatewayConfig(id, cloudFor(index)), { timeoutMs: 120_000, ...(old === undefined ? {} : { dataDir: old.m.dataDir }) })
      const pub = await connect(`mqtt://127.0.0.1:${m.mqttPort}`, `sensor-${id}`, { reconnectPeriod: 500 })
      fleet[index] = { id, index, m, pub }
    })
  } finally { delete process.env.NODE_OPTIONS }
  progress(`fleet: ${n} gateways (re)started with their new link in ${((performance.now() - t0) / 1000).toFixed(1)} s (${mechaCommand().what}, heap ≤ ${HEAP_MB} MB)`)
}

function gatewayConfig (id: string, cloud: Record<string, unknown>): Record<string, unknown> {
  return {
    id,
    log: { level: 'warn', pretty: false },
    api: { port: 0, grpc: false },
    ui: { port: 0, enabled: false },
    metrics: { port: 0, enabled: false },
    cloud,
  }
}

const stops = { n: 0, killed: 0, maxMs: 0 }
async function stopMember (g: Member): Promise<void> {
  await g.pub.endAsync(true).catch(() => {})
  if (!g.m.child.running) return
  const r = await g.m.child.stop(10_000)
  stops.n++; stops.maxMs = Math.max(stops.maxMs, r.ms); if (r.killed) stops.killed++
}

/** Stops the first `n` gateways while their cloud is still up (a clean stop is then ~20 ms). */
async function stopFleet (n: number): Promise<void> {
  const t0 = performance.now()
  const before = { ...stops }
  stops.maxMs = 0
  await inBatches(fleet.slice(0, n), START_BATCH, stopMember)
  progress(`fleet: ${n} gateways stopped in ${((performance.now() - t0) / 1000).toFixed(1)} s (slowest ${stops.maxMs} ms${stops.killed > before.killed ? `; ${stops.killed - before.killed} needed SIGKILL` : ''})`)
}

async function closeFleet (): Promise<void> {
  await Promise.all(fleet.map(async (g) => { await g.pub.endAsync(true).catch(() => {}) }))
  await inBatches(fleet.filter((g) => g !== undefined), 10, async (g) => { await g.m.close() })
  fleet.length = 0
}

function idOf (packet: IPublishPacket, protocolVersion: 4 | 5): { id: string; payload: Buffer } | undefined {
  if (protocolVersion === 5) {
    const v = packet.properties?.userProperties?.['mecha-id']
    const id = Array.isArray(v) ? v[0] : v
    return id === undefined ? undefined : { id, payload: packet.payload as Buffer }
  }
  try {
    const env = JSON.parse((packet.payload as Buffer).toString()) as { id: string; payload: string }
    return { id: env.id, payload: Buffer.from(env.payload, 'base64') }
  } catch { return undefined }
}

interface CaseResult {
  n: number
  backoff: Backoff
  cloud: string
  drainMs: number
  drained: boolean
  firstMedianMs: number
  firstSpreadMs: number
  stormCpuPct: number
  stormPeakCpuPct: number
  stormRate: number
  stormPeakRate: number
  steadyCpuPct: number
  steadyRate: number
  acked: number
  accepted: number
  delivered: number
  dropped: number
  queued: number
  distinct: number
  dups: number
  lost: number
  rssMaxMiB: number
  rssMedianMiB: number
  backlog: number
  /** From the stop until the broker accepted connections again, ms. */
  downMs: number
  /** Wall time of the case, s (reload to final ledgers). */
  seconds: number
  perGateway: Array<Record<string, number | string>>
}

let caseNo = 0

/**
 * One case: the first `n` gateways (re)started with their link to `cloud` and `backoff`, then steady state, the
 * outage, the return and the drain. Readings carry the case number, so nothing left from an earlier case counts.
 */
async function runCase (cloud: Cloud, n: number, backoff: Backoff): Promise<CaseResult> {
  const t0 = performance.now()
  const c = ++caseNo
  const label = `${cloud.name}, ${n} gateways, ${backoff}`
  const at = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`
  const cloudCfg = (i: number): Record<string, unknown> => ({
    url: cloud.urlFor(i),
    clientId: '{id}',
    protocolVersion: cloud.protocolVersion,
    ...(cloud.protocolVersion === 4 ? { envelope: 'json' } : {}),
    ...(backoff === 'fixed' ? { backoff: { minMs: FIXED_MS, maxMs: FIXED_MS } } : {}),
    forward: [{ from: 'sensors/#', to: 'gateways/{id}/sensors/', qos: 1 }],
  })
  await deployFleet(n, cloudCfg)
  const gws: Gateway[] = fleet.slice(0, n).map((f) => ({ ...f, seq: 0, inflight: 0, acked: new Set(), pubErrors: 0, skipped: 0, ids: new Set(), received: new Set(), dups: 0, pending: new Set(), rssMaxKiB: 0 }))
  const byId = new Map(gws.map((g) => [g.id, g]))
  await inBatches(gws, 10, async (g) => { g.base = await ledger(g.m) })
  const consumerId = `fleet-consumer-${process.pid}-${c}`
  let consumer: MqttClient | undefined
  let sampler: NodeJS.Timeout | undefined
  let ticker: NodeJS.Timeout | undefined
  let tUp: number | undefined
  try {
    let receivedTotal = 0
    consumer = await connect(cloud.consumerUrl, consumerId, {
      clean: false,
      reconnectPeriod: 200,
      protocolVersion: cloud.protocolVersion,
      // MQTT 5: a session without an expiry interval ends at the disconnect, and what the gateways publish before
      // the subscriber is back would be lost at the broker (not by the bridge).
      ...(cloud.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    })
    consumer.on('message', (_topic, _payload, packet) => {
      receivedTotal++
      const got = idOf(packet, cloud.protocolVersion)
      if (got === undefined) return
      let r: { gw: string; c: number; seq: number }
      try { r = JSON.parse(got.payload.toString()) as { gw: string; c: number; seq: number } } catch { return }
      const g = byId.get(r.gw)
      if (g === undefined || r.c !== c) return
      if (g.ids.has(got.id)) { g.dups++; return }
      g.ids.add(got.id)
      g.received.add(r.seq)
      const now = performance.now()
      if (tUp !== undefined && g.firstAfterUp === undefined) g.firstAfterUp = now - tUp
      if (g.pending.delete(r.seq) && g.pending.size === 0 && tUp !== undefined && g.drainedAt === undefined) g.drainedAt = now - tUp
    })
    await consumer.subscribeAsync('gateways/+/sensors/#', { qos: 1 })

    // Fixed rate: every 1000/RATE ms each gateway's sensor publishes one QoS 1 reading (at most 2,000 in flight).
    const publishing = { on: true }
    const tick = (): void => {
      if (!publishing.on) return
      for (const g of gws) {
        if (g.inflight >= 2000) { g.skipped++; continue }
        const seq = g.seq++
        g.inflight++
        const payload = JSON.stringify({ gw: g.id, c, seq, ts: Date.now(), t: 21.5 })
        g.pub.publish('sensors/temp', payload, { qos: 1 }, (err) => {
          g.inflight--
          if (err === undefined || err === null) g.acked.add(seq); else g.pubErrors++
        })
      }
    }
    ticker = setInterval(tick, Math.round(1000 / RATE))

    // 1 s samples: the cloud's CPU (its process tree) and the subscriber's message rate; gateways' RSS.
    interface Sample { t: number; cpu: number; rx: number }
    const samples: Sample[] = []
    const cloudCpu = (): number => cloud.pids().reduce((a, p) => a + (Number.isFinite(cpuSeconds(p)) ? cpuSeconds(p) : 0), 0)
    let cpuBase = 0 // CPU of processes that ended (a stopped node) stays counted
    let lastCpu = cloudCpu()
    const sample = (): void => {
      let cpu = cloudCpu()
      if (cpu + cpuBase < lastCpu) cpuBase = lastCpu - cpu
      cpu += cpuBase
      lastCpu = cpu
      samples.push({ t: performance.now(), cpu, rx: receivedTotal })
      for (const g of gws) g.rssMaxKiB = Math.max(g.rssMaxKiB, rssKiB(g.m.child.pid) || 0)
    }
    sample()
    sampler = setInterval(sample, 1000)
    const window = (from: number, to: number): { cpuPct: number; rate: number; peakCpuPct: number; peakRate: number } => {
      const s = samples.filter((x) => x.t >= from - 1000 && x.t <= to + 1000)
      if (s.length < 2) return { cpuPct: NaN, rate: NaN, peakCpuPct: NaN, peakRate: NaN }
      let peakCpuPct = 0; let peakRate = 0
      for (let k = 1; k < s.length; k++) {
        const dt = (s[k]!.t - s[k - 1]!.t) / 1000
        peakCpuPct = Math.max(peakCpuPct, (s[k]!.cpu - s[k - 1]!.cpu) / dt * 100)
        peakRate = Math.max(peakRate, (s[k]!.rx - s[k - 1]!.rx) / dt)
      }
      const a = s[0]!; const b = s[s.length - 1]!
      const dt = (b.t - a.t) / 1000
      return { cpuPct: (b.cpu - a.cpu) / dt * 100, rate: (b.rx - a.rx) / dt, peakCpuPct, peakRate }
    }

    // Every link is up once each gateway's readings of this case reach the cloud.
    await waitUntil(() => gws.every((g) => g.received.size > 0), 60_000, () => `${label}: links up (${gws.filter((g) => g.received.size > 0).length}/${n})`, 100)
    const tSteady = performance.now()
    await sleep(WARM_S * 1000)
    const steady = window(tSteady, performance.now())

    progress(`${label}: links up; cloud down for ${OUTAGE_S} s (${at()})`)
    // Unreachable for OUTAGE_S: from the stop until it accepts connections again (its boot started early by
    // the last boot's length; the stop's own length counts too). The measured length goes in the note.
    const tDown = performance.now()
    await cloud.outageStart()
    await sleep(Math.max(0, OUTAGE_S * 1000 - (performance.now() - tDown) - cloud.bootLeadMs()))
    await cloud.outageEnd()
    const downMs = performance.now() - tDown
    // What was acked before the return is the backlog the fleet must drain.
    const tUpLocal = performance.now()
    let backlog = 0
    for (const g of gws) {
      for (const s of g.acked) if (!g.received.has(s)) g.pending.add(s)
      backlog += g.pending.size
      if (g.pending.size === 0) g.drainedAt = 0
    }
    tUp = tUpLocal
    for (const g of gws) if (g.received.size > 0 && !cloud.affected(g.index)) g.firstAfterUp ??= 0
    progress(`${label}: cloud back; backlog ${backlog} messages (${at()})`)
    const drained = await waitUntil(() => gws.every((g) => g.drainedAt !== undefined), DRAIN_LIMIT_MS, '', 50).then(() => true, () => false)
    const tDrained = performance.now()
    const drainMs = drained ? Math.max(...gws.map((g) => g.drainedAt!)) : NaN
    await sleep(1100) // one more sample inside the window
    const storm = window(tUpLocal, tDrained)
    progress(`${label}: ${drained ? `drained in ${drainMs.toFixed(0)} ms` : `not drained within ${DRAIN_LIMIT_MS / 1000} s`}; cloud CPU ${storm.cpuPct.toFixed(0)} % (peak ${storm.peakCpuPct.toFixed(0)} %), ${storm.rate.toFixed(0)} msgs/s (peak ${storm.peakRate.toFixed(0)}) (${at()})`)

    publishing.on = false
    clearInterval(ticker); ticker = undefined
    await waitUntil(() => gws.every((g) => g.inflight === 0), 20_000, 'publishes acked', 50).catch(() => {})
    // Until every acked reading arrived and every outbox is empty, or nothing moves for a while (bounded).
    let lastSum = -1; let stillSince = performance.now()
    const ledgers = new Map<string, Ledger | undefined>()
    await waitUntil(async () => {
      const sum = gws.reduce((a, g) => a + g.received.size, 0)
      if (sum !== lastSum) { lastSum = sum; stillSince = performance.now() }
      const allIn = gws.every((g) => [...g.acked].every((s) => g.received.has(s)))
      if (!allIn && performance.now() - stillSince < STILL_MS) return false
      await inBatches(gws, 10, async (g) => { ledgers.set(g.id, await ledger(g.m)) })
      return [...ledgers.values()].every((l) => l !== undefined && l.queued === 0) || performance.now() - stillSince > STILL_MS
    }, SMOKE ? 20_000 : 30_000, `${label}: final ledgers`, 200).catch(() => {})

    const firsts = gws.filter((g) => cloud.affected(g.index)).map((g) => g.firstAfterUp ?? NaN).filter(Number.isFinite).sort((a, b) => a - b)
    const perGateway: Array<Record<string, number | string>> = gws.map((g) => {
      const l = ledgers.get(g.id); const b = g.base
      const delta = (k: 'accepted' | 'delivered' | 'dropped'): number => (l === undefined || b === undefined ? NaN : l[k] - b[k])
      const lost = [...g.acked].filter((s) => !g.received.has(s)).length
      return {
        id: g.id, node: cloud.urlFor(g.index), acked: g.acked.size, pubErrors: g.pubErrors, skipped: g.skipped,
        accepted: delta('accepted'), delivered: delta('delivered'), dropped: delta('dropped'), queued: l?.queued ?? NaN,
        distinct: g.ids.size, duplicates: g.dups, lost,
        firstAfterUpMs: Math.round(g.firstAfterUp ?? NaN), drainMs: Math.round(g.drainedAt ?? NaN), rssMaxMiB: Number((g.rssMaxKiB / 1024).toFixed(1)),
      }
    })
    const sum = (k: string): number => perGateway.reduce((a, p) => a + (p[k] as number), 0)
    const rss = gws.map((g) => g.rssMaxKiB / 1024).sort((a, b) => a - b)
    const res: CaseResult = {
      n, backoff, cloud: cloud.name, drainMs, drained,
      firstMedianMs: median(firsts), firstSpreadMs: firsts.length > 0 ? firsts[firsts.length - 1]! - firsts[0]! : NaN,
      stormCpuPct: storm.cpuPct, stormPeakCpuPct: storm.peakCpuPct, stormRate: storm.rate, stormPeakRate: storm.peakRate,
      steadyCpuPct: steady.cpuPct, steadyRate: steady.rate,
      acked: sum('acked'), accepted: sum('accepted'), delivered: sum('delivered'), dropped: sum('dropped'), queued: sum('queued'),
      distinct: sum('distinct'), dups: sum('duplicates'), lost: sum('lost'),
      rssMaxMiB: rss[rss.length - 1] ?? NaN, rssMedianMiB: percentile(rss, 0.5), backlog, downMs,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      perGateway,
    }
    printGateways(label, res)
    progress(`${label}: case done in ${res.seconds} s`)
    return res
  } finally {
    if (ticker !== undefined) clearInterval(ticker)
    if (sampler !== undefined) clearInterval(sampler)
    await stopFleet(n)
    await consumer?.endAsync(true).catch(() => {})
    // The case's persistent session would keep queueing on a shared cloud (RabbitMQ: a queue per session):
    // a clean connect with the same id ends it.
    await connect(cloud.consumerUrl, consumerId, { clean: true, protocolVersion: cloud.protocolVersion }).then(async (x) => { await x.endAsync(true) }, () => {})
  }
}

function printGateways (label: string, r: CaseResult): void {
  const cols = ['id', 'acked', 'accepted', 'delivered', 'dropped', 'queued', 'distinct', 'duplicates', 'lost', 'firstAfterUpMs', 'drainMs', 'rssMaxMiB']
  const lines = [`${label}: per gateway`, `| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`]
  for (const p of r.perGateway) lines.push(`| ${cols.map((c) => String(p[c])).join(' | ')} |`)
  lines.push(`| total | ${r.acked} | ${r.accepted} | ${r.delivered} | ${r.dropped} | ${r.queued} | ${r.distinct} | ${r.dups} | ${r.lost} | median ${fmt0(r.firstMedianMs)} | ${fmt0(r.drainMs)} | max ${r.rssMaxMiB.toFixed(1)} |`)
  progress(lines.join('\n  '))
}
const fmt0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–')

// ---------------------------------------------------------------- rows

/**
 * The rows of one cloud and fleet size: the jittered case against the no-spread one. `fixed` is undefined when
 * that case was skipped (`fixedSkip` says why): its figures read as the anchor's skip reason.
 */
function rowsFor (cloudName: string, j: CaseResult, fixed: CaseResult | undefined, outageNote: string, fixedSkip?: string): void {
  const base: Pick<Row, 'bench' | 'anchorName' | 'anchorSkip'> = { bench: BENCH, anchorName: `same fleet, backoff minMs=maxMs=${FIXED_MS} (no spread)`, ...(fixed === undefined ? { anchorSkip: fixedSkip ?? 'skipped' } : {}) }
  // A skipped case's numbers are NaN: '–' in the notes, no anchor figure in the table.
  const f: CaseResult = fixed ?? Object.fromEntries(Object.entries(j).map(([k, v]) => [k, typeof v === 'number' ? Number.NaN : v])) as unknown as CaseResult
  const tag = `${j.n} gw × ${RATE}/s → ${cloudName}`
  const both = `jittered: ${j.backlog} msgs backlog; no spread: ${fmt0(f.backlog)}`
  // Not drained within the limit is a result, not a failed measurement: said so in the table.
  const notDrained = `no figure: not drained within ${DRAIN_LIMIT_MS / 1000} s (what arrived is in the ledger rows)`
  const drainSkips = { ...(j.drained ? {} : { skip: notDrained }), ...(fixed !== undefined && !fixed.drained ? { anchorSkip: notDrained } : {}) }
  row({ ...base, ...drainSkips, metric: `${tag}: drain time after the cloud returned`, unit: 'ms', better: 'lower', mecha: j.drainMs, anchor: f.drainMs, note: `Mecha = default jittered backoff (500 → 60,000 ms); ${outageNote} (unreachable ${(j.downMs / 1000).toFixed(1)} s / ${Number.isFinite(f.downMs) ? (f.downMs / 1000).toFixed(1) : '–'} s, stop to accepting again); until every message acked before the return arrived; ${both}` })
  row({ ...base, metric: `${tag}: first message after the return, median over gateways`, unit: 'ms', better: 'lower', mecha: j.firstMedianMs, anchor: f.firstMedianMs, note: `spread (last − first gateway): jittered ${fmt0(j.firstSpreadMs)} ms, no spread ${fmt0(f.firstSpreadMs)} ms` })
  row({ ...base, metric: `${tag}: cloud broker CPU during the reconnect storm`, unit: '% of a core', better: 'lower', mecha: j.stormCpuPct, anchor: f.stormCpuPct, note: `return → drained, /proc/<pid>/stat; peak second: jittered ${fmt0(j.stormPeakCpuPct)} %, no spread ${fmt0(f.stormPeakCpuPct)} %; steady state before the outage ${fmt0(j.steadyCpuPct)} % / ${fmt0(f.steadyCpuPct)} %` })
  row({ ...base, metric: `${tag}: cloud message rate, peak second of the storm`, unit: 'msgs/s', better: 'lower', mecha: j.stormPeakRate, anchor: f.stormPeakRate, note: `at the subscriber, duplicates included; mean over the drain: jittered ${fmt0(j.stormRate)}, no spread ${fmt0(f.stormRate)}; steady ${fmt0(j.steadyRate)} / ${fmt0(f.steadyRate)} msgs/s. Lower peak = gentler storm, at the price of drain time` })
  row({ ...base, metric: `${tag}: messages lost (acked locally, never at the cloud)`, unit: 'msgs', better: 'lower', mecha: j.lost, anchor: f.lost, note: `acked: ${j.acked} / ${fmt0(f.acked)}; distinct at the cloud (by mecha-id): ${j.distinct} / ${fmt0(f.distinct)}` })
  row({ ...base, metric: `${tag}: duplicates seen at the cloud subscriber`, unit: 'msgs', better: 'lower', mecha: j.dups, anchor: f.dups, note: 'same mecha-id received again (resends after a reconnect: at most `inflight` per reconnect per gateway)' })
  row({ ...base, metric: `${tag}: outbox ledger dropped + still queued at the end`, unit: 'msgs', better: 'lower', mecha: j.dropped + j.queued, anchor: f.dropped + f.queued, note: `/v1.0/metadata cloud.outbox.*, summed: accepted ${j.accepted} = delivered ${j.delivered} + dropped ${j.dropped} + queued ${j.queued} (jittered); ${fmt0(f.accepted)} = ${fmt0(f.delivered)} + ${fmt0(f.dropped)} + ${fmt0(f.queued)} (no spread)` })
  row({ ...base, metric: `${tag}: gateway RSS, max over the fleet`, unit: 'MiB', better: 'lower', mecha: j.rssMaxMiB, anchor: f.rssMaxMiB, note: `heap capped at ${HEAP_MB} MB (--max-old-space-size); median ${j.rssMedianMiB.toFixed(1)} / ${Number.isFinite(f.rssMedianMiB) ? f.rssMedianMiB.toFixed(1) : '–'} MiB` })
}

function skipRows (cloudName: string, why: string): void {
  row({ bench: BENCH, metric: `→ ${cloudName}: drain time after the cloud returned`, unit: 'ms', better: 'lower', anchorName: 'same fleet, no-spread backoff', skip: why, anchorSkip: why })
}

async function main (): Promise<void> {
  const tMain = performance.now()
  const results: CaseResult[] = []
  interface CloudKind { key: string; name: string; missing: () => string | undefined; outage: string }
  const kinds: CloudKind[] = [
    { key: 'mosquitto', name: 'mosquitto 2', missing: mosquittoMissing, outage: `the broker stopped for ${OUTAGE_S} s` },
    { key: 'rabbitmq', name: 'RabbitMQ cluster', missing: () => (SMOKE ? 'the clustered broker is not run in smoke mode' : rabbitMissing()), outage: `node 2 of 2 stopped for ${OUTAGE_S} s (its half of the fleet buffers; the subscriber is on node 1; its restart begins early by its last boot time)` },
  ]
  const run: CloudKind[] = []
  for (const k of kinds) {
    if (ONLY_CLOUD !== undefined && ONLY_CLOUD !== k.key) continue
    const missing = k.missing()
    if (missing === undefined) { run.push(k); continue }
    progress(`${k.name}: skipped — ${missing}`)
    skipRows(k.name, missing)
  }
  // The RabbitMQ cluster boots (tens of seconds) while the first gateways start, and serves every fleet size.
  let rabbit: Promise<Cloud> | undefined
  if (run.some((k) => k.key === 'rabbitmq')) {
    const tr = performance.now()
    rabbit = rabbitCloud().then((r) => { progress(`rabbitmq: cluster ready in ${((performance.now() - tr) / 1000).toFixed(1)} s`); return r })
    rabbit.catch(() => {})
  }
  const rabbitFailed = async (): Promise<string | undefined> => {
    if (rabbit === undefined) return 'not started'
    try { await rabbit; return undefined } catch (err) { return `failed: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}` }
  }
  try {
    for (const [k, n] of FLEETS.entries()) {
      if (k === 0) await rabbitFailed()
      // mosquitto first at every size: it is the anchor every other benchmark uses, and the N = 50 RabbitMQ pair
      // is the longest (373 s in one run: a stopped node takes up to a minute to accept again), so a tight budget
      // cuts the clustered case rather than the single broker's. The cluster idles through the mosquitto cases.
      for (const c of run) {
        // mosquitto: a fresh broker per case (it starts in milliseconds), so no case inherits another's state;
        // the RabbitMQ cluster: the one started above.
        const one = async (backoff: Backoff): Promise<CaseResult> => {
          if (c.key === 'rabbitmq') {
            const bad = await rabbitFailed()
            if (bad !== undefined) throw new Error(bad)
            return await runCase(await rabbit!, n, backoff)
          }
          const m = await mosquittoCloud()
          try { return await runCase(m, n, backoff) } finally { await m.close() }
        }
        // A case that could not finish before run.ts stops this benchmark is skipped, with the reason, rather
        // than cut off midway (which would lose its rows).
        const needMs = caseWorstMs(c.key === 'rabbitmq' ? 'rabbitmq' : 'mosquitto')
        const noTime = (): string | undefined => {
          const leftMs = DEADLINE - Date.now()
          return leftMs >= needMs ? undefined : `skipped: ${Math.round(leftMs / 1000)} s left of the suite's time budget, a case may need ${Math.round(needMs / 1000)} s`
        }
        const why = noTime()
        if (why !== undefined) {
          progress(`${c.name}, ${n} gateways: ${why}`)
          row({ bench: BENCH, metric: `${n} gw → ${c.name}: drain time after the cloud returned`, unit: 'ms', better: 'lower', anchorName: 'same fleet, no-spread backoff', skip: why, anchorSkip: why })
          continue
        }
        try {
          const j = await one('jittered')
          const fixedSkip = noTime()
          if (fixedSkip !== undefined) progress(`${c.name}, ${n} gateways, no-spread backoff: ${fixedSkip}`)
          const f = fixedSkip === undefined ? await one('fixed') : undefined
          results.push(j, ...(f === undefined ? [] : [f]))
          rowsFor(c.name, j, f, c.outage, fixedSkip)
        } catch (err) {
          const why = `failed: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`
          progress(`${c.name}, ${n} gateways: ${(err as Error).stack ?? String(err)}`)
          row({ bench: BENCH, metric: `${n} gw → ${c.name}: drain time after the cloud returned`, unit: 'ms', better: 'lower', anchorName: 'same fleet, no-spread backoff', skip: why, anchorSkip: why })
          if (c.key === 'mosquitto') process.exitCode = 1
        }
        // The cluster's last case: stop it before the mosquitto cases of this size.
        if (c.key === 'rabbitmq' && k === FLEETS.length - 1 && rabbit !== undefined) {
          const r = rabbit; rabbit = undefined
          await r.then(async (x) => { await x.close() }, () => {})
        }
      }
    }
  } finally {
    await closeFleet()
    if (rabbit !== undefined) await rabbit.then(async (x) => { await x.close() }, () => {})
  }
  const out = join(ROOT, 'bench', 'results')
  await mkdir(out, { recursive: true })
  await writeFile(join(out, SMOKE ? 'fleet-smoke.json' : 'fleet.json'), JSON.stringify({ when: new Date().toISOString(), mecha: mechaCommand().what, rate: RATE, outageS: OUTAGE_S, heapMB: HEAP_MB, seconds: Number(((performance.now() - tMain) / 1000).toFixed(1)), results }, null, 2) + '\n')
  progress(`per-gateway ledgers written to bench/results/${SMOKE ? 'fleet-smoke.json' : 'fleet.json'}; fleet benchmark ${((performance.now() - tMain) / 1000).toFixed(1)} s`)
  finish()
}

await main()
