/**
 * @grpc/grpc-js and the Dapr service definitions, loaded on first use only (CONVENTIONS 13): a runtime with
 * the gRPC API off and no gRPC apps never loads them. The contract comes from the generated descriptor
 * (edge/grpc/proto/descriptor.ts), so it works from the esbuild bundle with no .proto file on disk.
 */
import type * as GrpcJs from '@grpc/grpc-js'
import { DAPR_DESCRIPTOR } from './proto/descriptor.ts'

export type Grpc = typeof GrpcJs

export interface Loaded {
  grpc: Grpc
  /** `dapr.proto.runtime.v1`: Dapr, AppCallback, AppCallbackHealthCheck service constructors. */
  v1: Record<string, GrpcJs.ServiceClientConstructor>
}

/** Field names as in the .proto (snake_case), enums as names, bytes as Buffers, int64 as strings. */
export const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true } as const

let loading: Promise<Loaded> | undefined

export function loadGrpc (): Promise<Loaded> {
  loading ??= (async () => {
    const grpc = await import('@grpc/grpc-js')
    const loader = await import('@grpc/proto-loader')
    const def = loader.fromJSON(DAPR_DESCRIPTOR as never, LOADER_OPTIONS)
    const pkg = grpc.loadPackageDefinition(def) as any
    return { grpc, v1: pkg.dapr.proto.runtime.v1 }
  })()
  return loading
}
