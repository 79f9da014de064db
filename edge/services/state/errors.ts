/**
 * Store failures as Dapr answers them (dapr/pkg/http api.go stateErrorResponse): the operation's own code
 * (ERR_STATE_SAVE, ERR_STATE_DELETE, …) with 409 for an ETag mismatch, 400 for a malformed ETag and 500 for
 * anything else. Request errors found before the store ran (bad key, bad body) keep their own 4xx code.
 */
import { MechaError, isMechaError, type ErrorCode } from '../../../core/errors.ts'

export function stateFailure (err: unknown, code: ErrorCode, context: string): MechaError {
  if (isMechaError(err, 'ERR_ETAG_MISMATCH') || isMechaError(err, 'ERR_MALFORMED_ETAG')) {
    return new MechaError(code, `${context}: ${err.message}`, { status: err.status, cause: err })
  }
  if (err instanceof MechaError && err.status < 500) return err
  return new MechaError(code, `${context}: ${(err as Error)?.message ?? String(err)}`, { status: 500, cause: err })
}
