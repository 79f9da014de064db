/**
 * The mixed workload of one torture round, and the journal of what it sent and what the runtime acknowledged.
 * Every worker is bounded in operations and in time, and stops at once when the round stops it (just before
 * the kill), so whatever is still in flight at the kill is exactly what the journal marks unacknowledged.
 */
import mqtt, { type MqttClient } from 'mqtt'
import type { Rng } from './prng.ts'

/** An MQTT or API publish; its payload `<from>:<seq>` identifies it at every receiver. */
export interface SentMessage { topic: string; from: string; seq: number; acked: boolean; retain: boolean }

/** One state request (a save or a transaction): the value it writes per key, `null` for a delete. */
export interface StateWrite {
  worker: string
  kind: 'save' | 'transaction'
  values: Map<string, unknown>
  /** `unknown`: sent, no 204 seen (in flight at the kill): the runtime may or may not have applied it. */
  status: 'unknown' | 'acked'
}

export class Journal {
  /** payload → the publish, for MQTT publishers, the retained publisher and the API publisher alike. */
  readonly messages = new Map<string, SentMessage>()
  /** In send order; each key is written by one worker only, one request at a time, so order per key is defined. */
  readonly writes: StateWrite[] = []
  /** Anything the runtime answered that it should not have (before the kill): each one fails the round. */
  readonly unexpected: string[] = []

  record (m: SentMessage): string {
    const payload = `${m.from}:${m.seq}`
    this.messages.set(payload, m)
    return payload
  }
}

export interface PublisherPlan { id: string; window: number; ops: number; paceMs: number; topics: string[] }
export interface StatePlan { id: string; keys: string[]; ops: number; paceMs: number; txShare: number }

export interface Plan {
  subscribers: number
  publishers: PublisherPlan[]
  retained: PublisherPlan
  state: StatePlan[]
  api: { id: string; ops: number; paceMs: number; topics: string[] }
  /** How long the load is meant to last; the kill falls inside it. */
  spanMs: number
  killAtMs: number
  /** From `killAtMs` on, the kill comes the moment this many requests are in flight (or 500 ms later). */
  killInFlight: number
}

/** Local topics delivered to the persistent subscribers; `fwd/…` also goes to the cloud outbox. */
export const SUBSCRIBED = ['t/#', 'fwd/#']

/** The shape of a round, drawn from its seed: hundreds of operations over one to two and a half seconds. */
export function makePlan (rng: Rng): Plan {
  const spanMs = rng.int(1000, 2500)
  const local = Array.from({ length: rng.int(1, 3) }, (_, i) => `t/${i}`)
  const fwd = Array.from({ length: rng.int(1, 2) }, (_, i) => `fwd/m${i}`)
  // Pace so each worker's planned operations spread over the span: the kill then lands in the middle of them.
  const pace = (ops: number, lanes: number): number => Math.max(1, Math.round(spanMs * lanes / ops))
  const publishers = Array.from({ length: rng.int(2, 4) }, (_, i): PublisherPlan => {
    const window = rng.int(1, 16); const ops = rng.int(150, 400)
    return { id: `p${i}`, window, ops, paceMs: pace(ops, window), topics: [...local, ...fwd] }
  })
  const retainedOps = rng.int(40, 120); const retainedWindow = rng.int(1, 4)
  const state = Array.from({ length: rng.int(2, 4) }, (_, i): StatePlan => {
    const ops = rng.int(40, 120)
    return { id: `w${i}`, keys: Array.from({ length: rng.int(3, 5) }, (_, k) => `w${i}-k${k}`), ops, paceMs: pace(ops, 1), txShare: rng.next() * 0.6 }
  })
  const apiOps = rng.int(30, 90)
  return {
    subscribers: rng.int(2, 3),
    publishers,
    retained: { id: 'ret', window: retainedWindow, ops: retainedOps, paceMs: pace(retainedOps, retainedWindow), topics: Array.from({ length: rng.int(3, 6) }, (_, i) => `r/${i}`) },
    state,
    api: { id: 'api', ops: apiOps, paceMs: pace(apiOps, 1), topics: fwd.map((t) => `${t}/api`) },
    spanMs,
    killAtMs: Math.round(spanMs * (0.15 + 0.75 * rng.next())),
    killInFlight: rng.int(1, 10),
  }
}

export interface Endpoints { mqttUrl: string; apiUrl: string }

/** The running load: `stop()` ends every loop at its next step; `clients` are closed by the round. */
export interface Load {
  stop: () => void
  clients: MqttClient[]
  done: Promise<void>
  acked: () => number
  /**
   * Calls `fn` synchronously from inside the send that brings the requests in flight to `min`: a kill there
   * lands with requests half done, which a timer alone on a fast loopback rarely manages.
   */
  armKill: (min: number, fn: () => void) => void
  disarm: () => void
}

function shuffle<T> (r: Rng, items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) { const j = r.int(0, i); [out[i], out[j]] = [out[j], out[i]] }
  return out
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
/**
 * The gap after an operation: none 60% of the time (bursts, so several requests are in flight at once and the
 * kill finds some of them half done), otherwise up to 5 paces, so the mean stays one pace.
 */
const pause = (r: Rng, paceMs: number): Promise<void> => r.chance(0.6) ? Promise.resolve() : sleep(r.int(0, 5 * paceMs))

/** A hard bound on any worker, whatever its pace: a round never waits on a stuck loop. */
const WORKER_LIMIT_MS = 15_000

export async function startLoad (plan: Plan, rng: Rng, ep: Endpoints, journal: Journal): Promise<Load> {
  let running = true
  const started = Date.now()
  const live = (): boolean => running && Date.now() - started < WORKER_LIMIT_MS
  let acked = 0
  let inFlight = 0
  let trigger: { min: number; fn: () => void } | undefined
  const began = (): void => {
    inFlight++
    if (trigger !== undefined && inFlight >= trigger.min) { const t = trigger; trigger = undefined; t.fn() }
  }
  const ended = (): void => { inFlight-- }
  const clients: MqttClient[] = []
  const loops: Array<Promise<void>> = []

  const connectPublisher = async (p: PublisherPlan): Promise<MqttClient> => {
    const client = mqtt.connect(ep.mqttUrl, { clientId: `torture-${p.id}`, clean: true, reconnectPeriod: 0, protocolVersion: 4, connectTimeout: 5000 })
    client.on('error', () => {}) // the kill closes every socket; the journal, not the error, is what counts
    clients.push(client)
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => { resolve() }); client.once('close', () => { reject(new Error(`${p.id} could not connect`)) })
    })
    return client
  }

  const mqttWorker = async (client: MqttClient, p: PublisherPlan, retain: boolean, salt: number): Promise<void> => {
    const r = rng.fork(salt)
    let seq = 0
    // `window` lanes share one connection: each takes the next sequence number synchronously just before its
    // publish call, so the order on the wire is the sequence order, with up to `window` PUBACKs outstanding.
    const lane = async (): Promise<void> => {
      while (live() && seq < p.ops) {
        const m: SentMessage = { topic: r.pick(p.topics), from: p.id, seq: seq++, acked: false, retain }
        const payload = journal.record(m)
        const sent = client.publishAsync(m.topic, payload, { qos: 1, retain })
        began()
        try { await sent } catch { return } finally { ended() }
        m.acked = true; acked++
        await pause(r, p.paceMs)
      }
    }
    await Promise.all(Array.from({ length: p.window }, lane))
  }

  const post = async (path: string, body: string, contentType: string): Promise<number | undefined> => {
    const sent = fetch(`${ep.apiUrl}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body, signal: AbortSignal.timeout(5000) })
    began()
    try {
      const res = await sent
      await res.arrayBuffer()
      return res.status
    } catch { return undefined } finally { ended() } // the kill: no answer, the outcome is unknown
  }

  const stateWorker = async (s: StatePlan, salt: number): Promise<void> => {
    const r = rng.fork(salt)
    let n = 0
    for (let op = 0; op < s.ops && live(); op++) {
      const tx = r.chance(s.txShare)
      // Distinct keys per request, so "all or nothing" of a transaction is observable key by key.
      const keys = shuffle(r, s.keys).slice(0, r.int(tx ? 2 : 1, tx ? Math.min(4, s.keys.length) : 3))
      const values = new Map<string, unknown>()
      for (const k of keys) values.set(k, tx && r.chance(0.25) ? null : { w: s.id, n: n++, at: k })
      const w: StateWrite = { worker: s.id, kind: tx ? 'transaction' : 'save', values, status: 'unknown' }
      journal.writes.push(w)
      const status = tx
        ? await post('/v1.0/state/statestore/transaction', JSON.stringify({
          operations: [...values].map(([key, value]) => value === null ? { operation: 'delete', request: { key } } : { operation: 'upsert', request: { key, value } }),
        }), 'application/json')
        : await post('/v1.0/state/statestore', JSON.stringify([...values].map(([key, value]) => ({ key, value }))), 'application/json')
      if (status === undefined) return
      if (status !== 204) { if (running) journal.unexpected.push(`${s.id} ${w.kind}: HTTP ${status}`); return }
      w.status = 'acked'; acked++
      await pause(r, s.paceMs)
    }
  }

  const apiWorker = async (salt: number): Promise<void> => {
    const r = rng.fork(salt)
    // One request at a time: the order of acknowledged API publishes is then the order the app asked for.
    for (let seq = 0; seq < plan.api.ops && live(); seq++) {
      const m: SentMessage = { topic: r.pick(plan.api.topics), from: plan.api.id, seq, acked: false, retain: false }
      const payload = journal.record(m)
      const status = await post(`/v1.0/publish/pubsub/${m.topic}?metadata.rawPayload=true`, payload, 'text/plain')
      if (status === undefined) return
      if (status !== 204) { if (running) journal.unexpected.push(`api publish: HTTP ${status}`); return }
      m.acked = true; acked++
      await pause(r, plan.api.paceMs)
    }
  }

  // Every MQTT connection is up before any load starts, so the kill moment is measured from real load.
  let pubs: MqttClient[]
  try {
    pubs = await Promise.all([...plan.publishers, plan.retained].map(connectPublisher))
  } catch (err) {
    for (const c of clients) c.end(true)
    throw err
  }
  loops.push(...plan.publishers.map((p, i) => mqttWorker(pubs[i], p, false, 100 + i)), mqttWorker(pubs[pubs.length - 1], plan.retained, true, 200), ...plan.state.map((s, i) => stateWorker(s, 300 + i)), apiWorker(400))
  return {
    stop: () => { running = false },
    clients,
    done: Promise.allSettled(loops).then(() => {}),
    acked: () => acked,
    armKill: (min, fn) => { trigger = { min, fn } },
    disarm: () => { trigger = undefined },
  }
}
