/** Runs `op` n times (or until `maxMs`) with `concurrency` in flight; ops/s and latency percentiles (ms). */
import { performance } from 'node:perf_hooks'
import { Agent, request } from 'node:http'
import { percentile } from './proc.ts'

export interface OpResult { n: number; opsPerSec: number; p50: number; p99: number }

export async function measure (n: number, concurrency: number, maxMs: number, op: (i: number) => Promise<void>): Promise<OpResult> {
  const lat: number[] = []
  let next = 0
  const t0 = performance.now()
  const stopAt = t0 + maxMs
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n && performance.now() < stopAt) {
      const i = next++
      const s = performance.now()
      await op(i)
      lat.push(performance.now() - s)
    }
  }))
  const secs = (performance.now() - t0) / 1000
  lat.sort((a, b) => a - b)
  return { n: lat.length, opsPerSec: lat.length / secs, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) }
}

/** One HTTP request on a keep-alive agent; resolves to the status code (the body is read and dropped). */
export function httpRequest (agent: Agent, port: number, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers, timeout: 10_000 }, (res) => {
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.on('timeout', () => { req.destroy(new Error(`${method} ${path} timed out`)) })
    req.on('error', reject)
    req.end(body)
  })
}
