/**
 * One torture round: a real runtime in its own process under a seeded mixed load, `kill -9` at a seeded
 * moment, a restart on the same data dir, then every promise checked (see docs/torture.md). Whatever fails, the
 * processes and clients of the round are stopped in `finally`, and every wait is bounded, so a failing round
 * ends in seconds with its seed in the message.
 */
import { join } from 'node:path'
import { rm } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { spawnRuntime, testConfig, type Spawned } from '../helpers/runtime.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { mulberry32 } from './prng.ts'
import { Journal, SUBSCRIBED, makePlan, startLoad, type Load, type Plan, type SentMessage } from './workload.ts'
import { KINDS, addFigures, checkDeliveries, checkRetained, checkState, noFigures, readLedger, type Figures, type Kind, type LedgerView, type Received } from './checks.ts'

export type Durability = 'process' | 'power'

export interface RoundReport {
  seed: number
  durability: Durability
  ms: number
  /** Operations the load had sent when the kill came, and how many of them were acknowledged. */
  sent: number
  kinds: Record<Kind, Figures>
  atomicityViolations: number
  ledgerAfterRestart?: LedgerView
  ledgerAfterDrain?: LedgerView
  /** Entries iterated when LevelDB was opened directly after the final stop. */
  dbEntries?: number
  failures: string[]
  /** False when the round failed before its kill (e.g. the runtime did not start): nothing was tested. */
  reachedKill: boolean
}

export interface RoundOptions {
  seed: number
  durability: Durability
  /** Progress lines (the `seed=` line first); defaults to stdout. */
  log?: (line: string) => void
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `cond` every 20 ms; false when `timeoutMs` passed first (the caller turns that into a failure). */
async function waitUntil (cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return true
    if (Date.now() > deadline) return false
    await sleep(20)
  }
}

/**
 * Connects with the message listener attached first: MQTT.js emits the queued messages that arrive right
 * behind the CONNACK before `connect` listeners of a later `await` would run, and they must not be missed.
 */
async function connectListening (url: string, opts: IClientOptions, onMessage: (topic: string, payload: Buffer, retain: boolean) => void): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts })
  client.on('message', (topic, payload, packet) => { onMessage(topic, payload, packet.retain) })
  client.on('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${String(opts.clientId)}: no CONNACK from ${url} within 8 s`)) }, 8000)
      client.once('connect', () => { clearTimeout(timer); resolve() })
      client.once('close', () => { clearTimeout(timer); reject(new Error(`${String(opts.clientId)}: closed before CONNACK from ${url}`)) })
    })
  } catch (err) {
    client.end(true)
    throw err
  }
  return client
}

const CLOUD_SESSION: IClientOptions = { clientId: 'torture-cloud', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }
const cloudToLocal = (topic: string): string => `fwd/${topic.slice('gw/'.length)}`

export async function runRound (opts: RoundOptions): Promise<RoundReport> {
  const log = opts.log ?? ((line: string) => { console.log(line) })
  const t0 = Date.now()
  const { seed, durability } = opts
  log(`seed=${seed} durability=${durability}`)
  const rng = mulberry32(seed)
  const plan = makePlan(rng)
  const journal = new Journal()
  const kinds = Object.fromEntries(KINDS.map((k) => [k, noFigures()])) as Record<Kind, Figures>
  const report: RoundReport = { seed, durability, ms: 0, sent: 0, kinds, atomicityViolations: 0, failures: [], reachedKill: false }
  const fail = (what: string): void => { report.failures.push(what) }

  let cloud: Mosquitto | undefined
  let rt: Spawned | undefined
  let load: Load | undefined
  const clients: MqttClient[] = []
  let dataDir: string | undefined
  try {
    // The cloud consumer's persistent session exists before the outage, so it gets everything forwarded later.
    cloud = await Mosquitto.start()
    const first = await connectListening(cloud.url, CLOUD_SESSION, () => {})
    await first.subscribeAsync('gw/#', { qos: 1 })
    await first.endAsync()
    await cloud.stop() // the outage: forwarded messages can only wait in the outbox

    const config = await testConfig({
      store: { durability },
      cloud: {
        url: cloud.url,
        // Fast reconnect, so the drain starts within a fraction of a second of the cloud coming back.
        backoff: { minMs: 50, maxMs: 300 },
        connectTimeoutMs: 1000,
        forward: [{ from: 'fwd/#', to: 'gw/', qos: 1 }],
        outbox: { durability },
      },
    })
    dataDir = config.dataDir as string
    rt = await spawnRuntime({ config })
    const mqttUrl = (): string => `mqtt://127.0.0.1:${rt!.addresses.mqtt.port}`
    const apiUrl = (): string => `http://127.0.0.1:${rt!.addresses.api.port}`

    for (let i = 0; i < plan.subscribers; i++) {
      const sub = await connectListening(mqttUrl(), { clientId: `torture-sub-${i}`, clean: false }, () => {})
      await sub.subscribeAsync(SUBSCRIBED, { qos: 1 })
      await sub.endAsync() // offline from here on: the broker queues for it
    }

    load = await startLoad(plan, rng, { mqttUrl: mqttUrl(), apiUrl: apiUrl() }, journal)
    await sleep(plan.killAtMs)
    const running = rt; const l = load
    await new Promise<void>((resolve) => {
      // Stop the loops and send SIGKILL in the same tick (kill9 signals synchronously), so nothing starts
      // after the kill and only requests really in flight are in doubt.
      const kill = (): void => { l.stop(); void running.kill9(); resolve() }
      const timer = setTimeout(() => { l.disarm(); kill() }, 500)
      l.armKill(plan.killInFlight, () => { clearTimeout(timer); kill() })
    })
    report.reachedKill = true
    await rt.kill9()
    for (const c of load.clients) c.end(true)
    await Promise.race([load.done, sleep(2000)])
    report.sent = journal.messages.size + journal.writes.length
    log(`  killed at ${plan.killAtMs} ms: ${report.sent} operations sent, ${load.acked()} acknowledged, ${report.sent - load.acked()} in flight`)

    // The restart is the first durability check: the database must open as it is, without repair.
    try {
      rt = await spawnRuntime({ config })
    } catch (err) {
      rt = undefined
      fail(`restart on the same data dir failed: ${(err as Error).message.slice(0, 1500)}`)
      return report
    }
    for (const f of journal.unexpected) fail(`unexpected answer before the kill: ${f}`)

    await checkSubscribers(plan, journal, mqttUrl(), clients, report)
    await checkRetainedTopics(journal, mqttUrl(), clients, report)
    await checkStateValues(journal, apiUrl(), report)

    const ackedForward = [...journal.messages.values()].filter((m) => m.acked && m.topic.startsWith('fwd/')).length
    const before = await readLedger(apiUrl())
    report.ledgerAfterRestart = before
    if (!before.balanced) fail(`outbox ledger unbalanced after the restart: ${JSON.stringify(before)}`)
    if (before.accepted < ackedForward) fail(`outbox accepted ${before.accepted} < ${ackedForward} acknowledged forwarded messages`)

    await checkCloud(journal, cloud, apiUrl(), clients, report)

    const stopped = await rt.stop()
    rt = undefined
    if (stopped.code !== 0) fail(`runtime exited with ${String(stopped.code)} on SIGTERM after the checks`)
    report.dbEntries = await checkLevelDb(join(dataDir, 'db'), report)
  } catch (err) {
    fail(`round aborted: ${(err as Error).stack ?? String(err)}`)
  } finally {
    for (const c of [...clients, ...(load?.clients ?? [])]) c.end(true)
    if (rt !== undefined) await rt.kill9()
    await cloud?.kill()
    if (cloud !== undefined) await rm(cloud.dir, { recursive: true, force: true })
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true })
    report.ms = Date.now() - t0
    if (report.failures.length > 0 && rt !== undefined) report.failures.push(`runtime log tail:\n${rt.output().slice(-1500)}`)
  }
  return report
}

/** Every acknowledged publish at each persistent subscriber, at least once and in order. */
async function checkSubscribers (plan: Plan, journal: Journal, url: string, clients: MqttClient[], report: RoundReport): Promise<void> {
  // API publishes also reach these subscribers; the promise checked here is the MQTT one (PUBACK).
  const expect = (m: SentMessage): boolean => !m.retain && m.from !== 'api'
  const want = [...journal.messages].filter(([, m]) => m.acked && expect(m)).map(([p]) => p)
  for (let i = 0; i < plan.subscribers; i++) {
    const got: Received[] = []
    const distinct = new Set<string>()
    const sub = await connectListening(url, { clientId: `torture-sub-${i}`, clean: false }, (topic, payload) => {
      got.push({ topic, payload: payload.toString() }); distinct.add(payload.toString())
    })
    clients.push(sub)
    const complete = await waitUntil(() => want.every((p) => distinct.has(p)), 15_000)
    await sleep(200) // late redeliveries and in-flight extras still count for order and duplicates
    await sub.endAsync(true)
    const c = checkDeliveries(journal, got, expect)
    if (!complete || c.lost > 0) report.failures.push(`subscriber ${i}: ${c.lost} of ${c.acked} acknowledged publishes lost, e.g. ${c.lostSample.join(', ')}`)
    if (c.orderViolations > 0) report.failures.push(`subscriber ${i}: ${c.orderViolations} order violations`)
    if (c.phantoms.length > 0) report.failures.push(`subscriber ${i}: ${c.phantoms.length} messages nobody sent, e.g. ${c.phantoms.slice(0, 3).join(', ')}`)
    const ackedOnce = i === 0 ? c.acked : 0 // acknowledged publishes count once; checks once per subscriber
    addFigures(report.kinds.publish, { ...c, acked: ackedOnce })
  }
}

async function checkRetainedTopics (journal: Journal, url: string, clients: MqttClient[], report: RoundReport): Promise<void> {
  const got = new Map<string, string>()
  const topics = new Set([...journal.messages.values()].filter((m) => m.retain && m.acked).map((m) => m.topic))
  const c0 = await connectListening(url, { clientId: 'torture-retained-check', clean: true }, (topic, payload, retain) => {
    if (retain) got.set(topic, payload.toString())
  })
  clients.push(c0)
  await c0.subscribeAsync('r/#', { qos: 1 })
  const complete = await waitUntil(() => [...topics].every((t) => got.has(t)), 5000)
  await sleep(100) // a retained topic that only had in-flight updates may still come
  await c0.endAsync(true)
  const c = checkRetained(journal, got)
  if (!complete || c.lost > 0) report.failures.push(`retained: ${c.lost} of ${c.checked} topics without their last acknowledged value: ${c.lostSample.join('; ')}`)
  if (c.phantoms.length > 0) report.failures.push(`retained: values nobody published: ${c.phantoms.join(', ')}`)
  addFigures(report.kinds.retained, c)
}

async function checkStateValues (journal: Journal, apiUrl: string, report: RoundReport): Promise<void> {
  const keys = new Set(journal.writes.flatMap((w) => [...w.values.keys()]))
  const observed = new Map<string, unknown>()
  for (const key of keys) {
    const res = await fetch(`${apiUrl}/v1.0/state/statestore/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(5000) })
    const text = await res.text()
    if (res.status === 200) observed.set(key, JSON.parse(text))
    else if (res.status !== 204) report.failures.push(`state get ${key}: HTTP ${res.status} ${text}`)
  }
  const c = checkState(journal, observed)
  if (c.lost > 0) report.failures.push(`state: ${c.lost} keys without their last acknowledged value: ${c.lostSample.join('; ')}`)
  if (c.atomicityViolations > 0) report.failures.push(`state: ${c.atomicityViolations} transactions applied to only part of their keys`)
  report.atomicityViolations += c.atomicityViolations
  addFigures(report.kinds.state, c)
}

/** The cloud back: every acknowledged forwarded message arrives, in per-topic order, and the outbox drains. */
async function checkCloud (journal: Journal, cloud: Mosquitto, apiUrl: string, clients: MqttClient[], report: RoundReport): Promise<void> {
  const expect = (m: SentMessage): boolean => m.topic.startsWith('fwd/')
  const want = [...journal.messages].filter(([, m]) => m.acked && expect(m)).map(([p]) => p)
  const got: Received[] = []
  const distinct = new Set<string>()
  await cloud.startAgain()
  const sub = await connectListening(cloud.url, CLOUD_SESSION, (topic, payload) => {
    got.push({ topic, payload: payload.toString() }); distinct.add(payload.toString())
  })
  clients.push(sub)
  let ledger: LedgerView | undefined
  const drained = await waitUntil(async () => {
    if (!want.every((p) => distinct.has(p))) return false
    ledger = await readLedger(apiUrl)
    return ledger.queued === 0
  }, 20_000)
  await sleep(200)
  await sub.endAsync(true)
  ledger = await readLedger(apiUrl)
  report.ledgerAfterDrain = ledger
  const c = checkDeliveries(journal, got, expect, cloudToLocal)
  if (!drained) report.failures.push(`cloud: not drained within 20 s (${distinct.size} distinct received, ledger ${JSON.stringify(ledger)})`)
  if (c.lost > 0) report.failures.push(`cloud: ${c.lost} of ${c.acked} acknowledged forwarded messages lost, e.g. ${c.lostSample.join(', ')}`)
  if (c.orderViolations > 0) report.failures.push(`cloud: ${c.orderViolations} order violations`)
  if (c.phantoms.length > 0) report.failures.push(`cloud: ${c.phantoms.length} messages nobody sent, e.g. ${c.phantoms.slice(0, 3).join(', ')}`)
  if (!ledger.balanced) report.failures.push(`outbox ledger unbalanced after the drain: ${JSON.stringify(ledger)}`)
  addFigures(report.kinds.forward, c)
}

/** Opens the stopped runtime's LevelDB directly (no create, no repair) and reads every entry. */
async function checkLevelDb (location: string, report: RoundReport): Promise<number | undefined> {
  const db = new ClassicLevel<Buffer, Buffer>(location, { createIfMissing: false, keyEncoding: 'buffer', valueEncoding: 'buffer' })
  let n = 0
  try {
    await db.open()
    // Bounded: a round writes a few thousand entries; a runaway count is a failure of its own.
    for await (const _ of db.iterator({ limit: 1_000_000 })) n++
    if (n === 0) report.failures.push('leveldb: the database is empty after the round')
    return n
  } catch (err) {
    report.failures.push(`leveldb: ${(err as Error).message}`)
    return undefined
  } finally {
    await db.close().catch(() => {})
  }
}
