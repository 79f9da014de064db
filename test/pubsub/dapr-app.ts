/**
 * The official Dapr JS SDK against the runtime: a DaprServer (the app side) listening on 127.0.0.1 only, and a
 * DaprClient, both pointed at the runtime's API port.
 */
import { CommunicationProtocolEnum, DaprClient, DaprServer, LogLevel } from '@dapr/dapr'

const quiet = { level: LogLevel.Error }

/**
 * The SDK's HTTP server calls express `listen(port)`, which binds every interface; tests stay on loopback,
 * so `listen` is pointed at 127.0.0.1 before start().
 */
export function daprServer (appPort: number, daprPort: number): DaprServer {
  const server = new DaprServer({
    serverHost: '127.0.0.1',
    serverPort: String(appPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    clientOptions: { daprHost: '127.0.0.1', daprPort: String(daprPort), logger: quiet },
    logger: quiet,
  })
  const express = (server.getDaprClient() as unknown as { getServer: () => { listen: (...a: unknown[]) => unknown } }).getServer()
  const listen = express.listen.bind(express)
  express.listen = (port: unknown) => listen(port, '127.0.0.1')
  return server
}

/** The express app behind a DaprServer, for routes of declarative subscriptions. */
export function expressOf (server: DaprServer): { post: (path: string, h: (req: { body: any }, res: { send: (b: unknown) => void }) => void) => void } {
  return (server.getDaprClient() as unknown as { getServer: () => any }).getServer()
}

export function daprClient (daprPort: number): DaprClient {
  return new DaprClient({ daprHost: '127.0.0.1', daprPort: String(daprPort), communicationProtocol: CommunicationProtocolEnum.HTTP, logger: quiet })
}
