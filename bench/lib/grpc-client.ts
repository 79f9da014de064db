/**
 * A plain @grpc/grpc-js client of `dapr.proto.runtime.v1.Dapr`, made from the runtime's own descriptor: what a
 * Dapr SDK sends over gRPC, without the SDK's own cost, so the figures are the runtime's.
 */
import { loadGrpc } from '../../edge/grpc/load.ts'

export interface DaprGrpc {
  call (method: string, request: Record<string, unknown>): Promise<any>
  close (): void
}

export async function daprGrpc (port: number): Promise<DaprGrpc> {
  const { grpc, v1 } = await loadGrpc()
  const client: any = new v1.Dapr(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  await new Promise<void>((resolve, reject) => { client.waitForReady(Date.now() + 10_000, (err: Error | undefined) => { if (err != null) reject(err); else resolve() }) })
  return {
    call: (method, request) => new Promise((resolve, reject) => {
      client[method](request, { deadline: Date.now() + 10_000 }, (err: Error | null, res: unknown) => { if (err != null) reject(err); else resolve(res) })
    }),
    close: () => { client.close() },
  }
}
