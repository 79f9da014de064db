import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../../core/clock.ts'

export interface SseOptions {
  /** The SSE `event:` name of every item. */
  event: string
  clock: Clock
  /** A comment line this often keeps proxies and the browser from timing the stream out. @default 15000 */
  heartbeatMs?: number
  /** Checked at every heartbeat: false (the session expired or was logged out) ends the stream. */
  alive?: () => boolean
  /** Streams open now, so the server can end them all when it closes. */
  registry?: Set<() => void>
}

/** One SSE message (HTML Living Standard §9.2 "Server-sent events"): `id`, `event`, one `data` line of JSON, a blank line. */
export function sseFrame (id: number, event: string, data: unknown): string {
  // JSON.stringify never emits a raw newline, so one data line is always enough.
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * Sends an async iterable as Server-Sent Events until it ends, the client goes away, `alive()` turns false or
 * the server closes; the iterator is always closed with `return()` so its source can let go of its listener.
 */
export async function sendSse (req: FastifyRequest, reply: FastifyReply, source: AsyncIterable<unknown>, opts: SseOptions): Promise<void> {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  res.flushHeaders()
  const iterator = source[Symbol.asyncIterator]()
  let stop!: () => void
  const stopped = new Promise<{ done: true; value: undefined }>((resolve) => { stop = () => { resolve({ done: true, value: undefined }) } })
  let ended = false
  const end = (): void => { if (!ended) { ended = true; stop() } }
  opts.registry?.add(end)
  req.raw.once('close', end)
  res.once('close', end)
  const heartbeatMs = opts.heartbeatMs ?? 15_000
  let timer: unknown
  const beat = (): void => {
    if (ended) return
    if (opts.alive !== undefined && !opts.alive()) { end(); return }
    res.write(': ping\n\n')
    timer = opts.clock.setTimeout(beat, heartbeatMs)
  }
  timer = opts.clock.setTimeout(beat, heartbeatMs)
  let id = 0
  try {
    res.write(': stream open\n\n')
    while (!ended) {
      const next = await Promise.race([iterator.next(), stopped])
      if (next.done === true || ended) break
      if (!res.write(sseFrame(++id, opts.event, next.value))) {
        // A slow reader: wait for the socket to drain (or to close) before taking the next item.
        await Promise.race([new Promise((resolve) => res.once('drain', resolve)), stopped])
      }
    }
  } catch (err) {
    if (!ended && !res.destroyed) res.write(sseFrame(++id, 'error', { message: (err as Error).message }))
  } finally {
    ended = true
    stop()
    opts.clock.clearTimeout(timer)
    opts.registry?.delete(end)
    req.raw.off('close', end)
    // Not awaited: a generator parked in `next()` finishes its `return()` only when that next settles.
    void Promise.resolve(iterator.return?.()).catch(() => {})
    if (!res.destroyed) res.end()
  }
}
