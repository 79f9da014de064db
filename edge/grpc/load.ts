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

const SERVICES = ['dapr.proto.runtime.v1.Dapr', 'dapr.proto.runtime.v1.AppCallback', 'dapr.proto.runtime.v1.AppCallbackHealthCheck'] as const

let loading: Promise<Loaded> | undefined

export function loadGrpc (): Promise<Loaded> {
  loading ??= (async () => {
    const grpc = await import('@grpc/grpc-js')
    const { serviceDefinitions } = await import('./definitions.ts')
    const pkg = grpc.loadPackageDefinition(serviceDefinitions(DAPR_DESCRIPTOR, SERVICES)) as any
    return { grpc, v1: pkg.dapr.proto.runtime.v1 }
  })()
  return loading
}
