/**
 * Errors as gRPC statuses, as Dapr's gRPC API answers them: the status from the code registry
 * (core/errors.ts grpcStatusOfError), the Dapr code leading the message (`ERR_STATE_STORE_NOT_FOUND: …`, what
 * Dapr SDKs show), and a google.rpc.Status with an ErrorInfo detail (`reason` = the code, `domain` =
 * dapr.io, as Dapr's richer errors: docs.dapr.io/developing-applications/error-codes/errors-overview) in the
 * `grpc-status-details-bin` trailer.
 */
import { GRPC_CODES, MechaError, grpcStatusOfError } from '../../core/errors.ts'
import type { Grpc } from './load.ts'

/** Minimal protobuf writer: enough for google.rpc.Status / Any / ErrorInfo (varints and length-delimited). */
function varint (n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7 }
  out.push(n)
  return Buffer.from(out)
}
const field = (no: number, bytes: Buffer): Buffer => Buffer.concat([varint((no << 3) | 2), varint(bytes.length), bytes])
const str = (no: number, s: string): Buffer => field(no, Buffer.from(s, 'utf8'))

export function statusDetails (code: number, message: string, reason: string): Buffer {
  const errorInfo = Buffer.concat([str(1, reason), str(2, 'dapr.io')])
  const any = Buffer.concat([str(1, 'type.googleapis.com/google.rpc.ErrorInfo'), field(2, errorInfo)])
  return Buffer.concat([varint((1 << 3) | 0), varint(code), str(2, message), field(3, any)])
}

export interface ServiceErrorLike { code: number; details: string; metadata: InstanceType<Grpc['Metadata']> }

/** Any thrown value as a gRPC error; unexpected ones become INTERNAL without leaking their text. */
export function toServiceError (grpc: Grpc, err: unknown, onUnexpected?: (err: unknown) => void): ServiceErrorLike {
  const m = err instanceof MechaError ? err : undefined
  if (m === undefined) onUnexpected?.(err)
  const code = m === undefined ? GRPC_CODES.INTERNAL : GRPC_CODES[grpcStatusOfError(m)]
  const reason = m?.code ?? 'ERR_INTERNAL'
  const details = m === undefined ? 'ERR_INTERNAL: internal error; see the runtime log' : `${m.code}: ${m.message}`
  const metadata = new grpc.Metadata()
  metadata.set('grpc-status-details-bin', statusDetails(code, details, reason))
  return { code, details, metadata }
}
