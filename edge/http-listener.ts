import type { Server } from 'node:net'
import { MechaError } from '../core/errors.ts'

/** Binds a server (TCP or HTTP), turning EADDRINUSE and friends into MECHA_ERR_LISTEN with the address in the message. */
export function listenOn (server: Server, host: string, port: number, what: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new MechaError('MECHA_ERR_LISTEN', `${what} cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err }))
    }
    server.once('error', onError)
    server.listen(port, host, () => { server.off('error', onError); resolve(addressOf(server)!) })
  })
}

export function addressOf (server: Server): { host: string; port: number } | undefined {
  const a = server.address()
  return a != null && typeof a === 'object' ? { host: a.address, port: a.port } : undefined
}

/** Closes a server now: open keep-alive connections are dropped rather than waited for. */
export async function closeServer (server: import('node:http').Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
}
