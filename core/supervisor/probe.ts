import { connect } from 'node:net'

/** Whether something accepts TCP connections on host:port (an app's HTTP server is up). */
export function probePort (host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => { done(false) })
    socket.once('connect', () => { done(true) })
    socket.once('error', () => { done(false) })
  })
}

/** Whether an HTTP GET of `path` answers 2xx (Dapr's app health check semantics). */
export async function probeHttp (host: string, port: number, path: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
    await res.arrayBuffer().catch(() => {})
    return res.status >= 200 && res.status < 300
  } catch {
    return false
  }
}
