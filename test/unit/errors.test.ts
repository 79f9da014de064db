import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { ERRORS, GRPC_CODES, MechaError, grpcStatusOf, grpcStatusOfError, isMechaError, type ErrorCode } from '../../core/errors.ts'

test('errors - every code is documented in docs/errors.md with its HTTP and gRPC status', async () => {
  const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8')
  const missing: string[] = []
  for (const [code, entry] of Object.entries(ERRORS)) {
    const row = new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*${entry.status}\\s*\\|\\s*${grpcStatusOf(code as ErrorCode)}\\s*\\|`, 'm')
    if (!row.test(doc)) missing.push(code)
  }
  assert.equal(missing, [], `undocumented codes (or wrong status): ${missing.join(', ')}`)
})

test('errors - codes follow the naming rule and statuses are HTTP statuses', () => {
  for (const [code, entry] of Object.entries(ERRORS)) {
    assert.match(code, /^(MECHA_ERR|ERR)_[A-Z0-9_]+$/)
    assert.ok(entry.status >= 400 && entry.status < 600, code)
  }
})

test('errors - MechaError carries code, status, cause and the API body', () => {
  const cause = new Error('disk gone')
  const err = new MechaError('ERR_STATE_SAVE', 'failed saving state', { cause })
  assert.is(err.code, 'ERR_STATE_SAVE')
  assert.is(err.status, 500)
  assert.is(err.cause, cause)
  assert.equal(JSON.parse(JSON.stringify(err)), { errorCode: 'ERR_STATE_SAVE', message: 'failed saving state' })
  assert.ok(isMechaError(err, 'ERR_STATE_SAVE'))
  assert.not.ok(isMechaError(cause))
  assert.throws(() => new MechaError('NOPE' as never), TypeError)
})

test('errors - gRPC statuses follow Dapr where it defines them', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) assert.ok(grpcStatusOf(code) in GRPC_CODES, code)
  assert.is(grpcStatusOf('ERR_STATE_STORE_NOT_FOUND'), 'INVALID_ARGUMENT')
  assert.is(grpcStatusOf('ERR_PUBSUB_NOT_FOUND'), 'INVALID_ARGUMENT')
  assert.is(grpcStatusOf('ERR_ETAG_MISMATCH'), 'ABORTED')
  assert.is(grpcStatusOf('ERR_API_UNAUTHORIZED'), 'UNAUTHENTICATED')
  assert.is(grpcStatusOf('ERR_BODY_TOO_LARGE'), 'RESOURCE_EXHAUSTED')
  // An ETag conflict wrapped in the operation's own code keeps its 409, so ABORTED.
  assert.is(grpcStatusOfError(new MechaError('ERR_STATE_SAVE', 'x', { status: 409 })), 'ABORTED')
  assert.is(grpcStatusOfError(new MechaError('ERR_STATE_SAVE', 'x')), 'INTERNAL')
})

test.run()
