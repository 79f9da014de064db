/**
 * The one registry of error codes. `MECHA_ERR_*` codes are ours; `ERR_*` codes are Dapr's, used verbatim on
 * the HTTP API so Dapr SDKs recognise them (docs.dapr.io/reference/api/error_codes). Every code is bound to
 * the HTTP status it answers with, and documented in docs/errors.md (a test checks that).
 * Programmer mistakes are plain TypeErrors, not codes.
 */
export const ERRORS = {
  // --- runtime (ours)
  MECHA_ERR_CONFIG_INVALID: { status: 400, text: 'the configuration has problems' },
  MECHA_ERR_RELOAD_FAILED: { status: 500, text: 'a hot reload failed and was rolled back; the previous config stays in force' },
  MECHA_ERR_CONFIG_READ: { status: 400, text: 'the configuration file cannot be read or parsed' },
  MECHA_ERR_DATA_DIR_LOCKED: { status: 409, text: 'another runtime holds the data dir' },
  MECHA_ERR_STORE_OPEN: { status: 500, text: 'the LevelDB store cannot be opened' },
  MECHA_ERR_STORE_CLOSED: { status: 503, text: 'the store is not open' },
  MECHA_ERR_STORE_WRITE: { status: 500, text: 'a write to the store failed' },
  MECHA_ERR_LISTEN: { status: 500, text: 'a listener cannot bind its address' },
  MECHA_ERR_SHUTDOWN_TIMEOUT: { status: 500, text: 'a part did not stop in time' },
  MECHA_ERR_NOT_READY: { status: 500, text: 'the runtime is starting or stopping' },
  MECHA_ERR_MQTT_AUTH: { status: 401, text: 'MQTT username or password rejected' },
  MECHA_ERR_MQTT_ACL: { status: 403, text: 'the ACL denies this publish or subscribe' },
  MECHA_ERR_MQTT_PAYLOAD_TOO_LARGE: { status: 413, text: 'an MQTT payload exceeds mqtt.maxPayloadBytes' },
  MECHA_ERR_MQTT_TOO_MANY_CLIENTS: { status: 503, text: 'the broker has mqtt.maxClients connected' },
  MECHA_ERR_MQTT_TOO_MANY_INFLIGHT: { status: 503, text: 'a client exceeds mqtt.maxInflight unacknowledged messages' },
  MECHA_ERR_MQTT_CLIENT_ID: { status: 400, text: 'the MQTT client identifier is rejected' },
  MECHA_ERR_MQTT_UNKNOWN_PACKET: { status: 404, text: 'the broker holds no packet with that packet identifier for the client' },
  MECHA_ERR_NATIVE_ADDON: { status: 500, text: 'a native addon cannot be extracted or loaded' },
  MECHA_ERR_UI_AUTH: { status: 401, text: 'UI login required or rejected' },
  MECHA_ERR_UI_SETUP_REQUIRED: { status: 401, text: 'no UI admin password is set yet: log in with the one-time setup code' },
  MECHA_ERR_UI_CSRF: { status: 403, text: 'a cross-site request, or a state-changing request without the session\'s x-csrf-token' },
  MECHA_ERR_UI_RATE_LIMITED: { status: 429, text: 'too many failed logins: try again after Retry-After seconds' },
  MECHA_ERR_UI_PASSWORD_WEAK: { status: 400, text: 'the new UI admin password is too short' },
  MECHA_ERR_UI_TLS: { status: 500, text: 'the UI TLS files cannot be read, do not match, or a self-signed certificate cannot be made' },
  MECHA_ERR_MQTT_CLIENT_NOT_FOUND: { status: 404, text: 'no MQTT client with that id is connected' },
  MECHA_ERR_OUTBOX_FULL: { status: 507, text: 'the cloud outbox is full and its policy rejects new messages' },
  MECHA_ERR_OUTBOX_CORRUPT: { status: 500, text: 'an outbox entry cannot be decoded and was quarantined' },
  MECHA_ERR_CLOUD_CONNECT: { status: 502, text: 'the cloud broker refused or dropped the connection' },
  MECHA_ERR_CLOUD_REJECTED: { status: 502, text: 'the cloud broker refused a message' },
  MECHA_ERR_CLOUD_TLS: { status: 500, text: 'the cloud TLS files cannot be read or the certificate and key do not match' },
  MECHA_ERR_DEVICE: { status: 500, text: 'a device binding failed' },
  MECHA_ERR_BINDING_UNAVAILABLE: { status: 503, text: 'the device of a binding is absent or the binding is closed' },
  MECHA_ERR_BINDING_TIMEOUT: { status: 504, text: 'the device did not answer a binding request in time' },
  MECHA_ERR_BINDING_OPERATION: { status: 400, text: 'the binding does not support that operation' },
  MECHA_ERR_BINDING_DATA: { status: 400, text: 'the data or metadata of a binding operation is not valid' },
  MECHA_ERR_BINDING_FRAME: { status: 422, text: 'a frame from a device is malformed or cannot be parsed' },
  MECHA_ERR_BINDING_IO: { status: 500, text: 'reading or writing a device failed' },
  MECHA_ERR_BINDING_DELIVERY: { status: 502, text: 'an input-binding event could not be delivered to the app' },
  MECHA_ERR_MODBUS_EXCEPTION: { status: 502, text: 'a Modbus device answered with an exception (illegal function, illegal data address …)' },
  MECHA_ERR_MODBUS_UNREACHABLE: { status: 504, text: 'a Modbus unit id does not answer; the other units on its bus are still polled' },
  MECHA_ERR_APP: { status: 500, text: 'a supervised app failed' },
  MECHA_ERR_DEPENDENCY: { status: 500, text: 'an installed library lacks something the runtime relies on' },
  MECHA_ERR_SCHEDULE_INVALID: { status: 400, text: 'a cron or @every schedule cannot be parsed' },
  MECHA_ERR_JOB_DELIVERY: { status: 502, text: 'the app did not accept a triggered job' },
  // --- Dapr API (docs.dapr.io/reference/api/error_codes)
  ERR_API_UNAUTHORIZED: { status: 401, text: 'missing or wrong dapr-api-token' },
  ERR_MALFORMED_REQUEST: { status: 400, text: 'the request body is not valid' },
  ERR_HEALTH_NOT_READY: { status: 500, text: 'the runtime is not ready' },
  ERR_HEALTH_OUTBOUND_NOT_READY: { status: 500, text: 'components are not ready' },
  ERR_METADATA_GET: { status: 500, text: 'metadata cannot be read' },
  ERR_NOT_FOUND: { status: 404, text: 'no such route' },
  ERR_BODY_TOO_LARGE: { status: 413, text: 'the request body is too large' },
  ERR_STATE_STORE_NOT_FOUND: { status: 400, text: 'no state store of that name' },
  ERR_STATE_STORE_NOT_CONFIGURED: { status: 500, text: 'no state store is configured' },
  ERR_STATE_GET: { status: 500, text: 'a state get failed' },
  ERR_STATE_SAVE: { status: 500, text: 'a state save failed' },
  ERR_STATE_DELETE: { status: 500, text: 'a state delete failed' },
  ERR_STATE_BULK_GET: { status: 500, text: 'a bulk get failed' },
  ERR_STATE_TRANSACTION: { status: 500, text: 'a state transaction failed' },
  ERR_STATE_QUERY: { status: 500, text: 'a state query failed' },
  ERR_NOT_SUPPORTED_STATE_OPERATION: { status: 400, text: 'a transaction operation is neither upsert nor delete' },
  ERR_STATE_KEY_INVALID: { status: 400, text: 'the state key is invalid' },
  ERR_MALFORMED_ETAG: { status: 400, text: 'the ETag is malformed' },
  ERR_ETAG_MISMATCH: { status: 409, text: 'the ETag does not match the stored one' },
  ERR_TRY_LOCK: { status: 500, text: 'the lock cannot be acquired' },
  ERR_UNLOCK: { status: 500, text: 'the lock cannot be released' },
  ERR_LOCK_STORE_NOT_FOUND: { status: 400, text: 'no lock store of that name' },
  ERR_LOCK_STORE_NOT_CONFIGURED: { status: 500, text: 'no lock store is configured' },
  ERR_PUBSUB_NOT_FOUND: { status: 404, text: 'no pub/sub component of that name' },
  ERR_PUBSUB_EMPTY: { status: 404, text: 'the pub/sub name is empty' },
  ERR_TOPIC_NAME_EMPTY: { status: 404, text: 'the topic is empty' },
  ERR_TOPIC_INVALID: { status: 400, text: 'the topic is not a valid MQTT topic name' },
  ERR_PUBSUB_PUBLISH_MESSAGE: { status: 500, text: 'the message cannot be published' },
  ERR_PUBSUB_FORBIDDEN: { status: 403, text: 'the app may not publish to that topic' },
  ERR_PUBSUB_CLOUD_EVENTS_SER: { status: 400, text: 'the CloudEvent is not valid' },
  ERR_PUBSUB_EVENTS_SER: { status: 400, text: 'the bulk publish entries are not valid' },
  ERR_PUBSUB_REQUEST_METADATA: { status: 400, text: 'the publish metadata is not valid' },
  ERR_INVOKE_OUTPUT_BINDING: { status: 500, text: 'the output binding failed' },
  ERR_BINDING_NOT_FOUND: { status: 404, text: 'no binding of that name' },
  ERR_DIRECT_INVOKE: { status: 500, text: 'service invocation failed' },
  ERR_APP_NOT_FOUND: { status: 404, text: 'no app with that id' },
  ERR_JOBS_NOT_FOUND: { status: 404, text: 'no job of that name' },
  ERR_SCHEDULE_JOB: { status: 500, text: 'the job cannot be scheduled (409 when it exists and overwrite is false)' },
  ERR_MALFORMED_JOB: { status: 400, text: 'the job request is not valid' },
  ERR_GET_JOB: { status: 500, text: 'the job cannot be read' },
  ERR_DELETE_JOB: { status: 500, text: 'the job cannot be deleted' },
} as const satisfies Record<string, { status: number; text: string }>

export type ErrorCode = keyof typeof ERRORS

export interface MechaErrorOptions {
  cause?: unknown
  /** Structured details, e.g. the list of config problems. */
  details?: unknown
  /** Overrides the registry's status where one code can answer with several (Dapr does this). */
  status?: number
}

export class MechaError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: unknown

  constructor (code: ErrorCode, message?: string, opts: MechaErrorOptions = {}) {
    const entry = ERRORS[code]
    if (entry === undefined) throw new TypeError(`unknown error code ${String(code)}`)
    super(message ?? entry.text, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'MechaError'
    this.code = code
    this.status = opts.status ?? entry.status
    this.details = opts.details
  }

  /** The body the HTTP API answers with. */
  toJSON (): { errorCode: string; message: string } {
    return { errorCode: this.code, message: this.message }
  }
}

export function isMechaError (err: unknown, code?: ErrorCode): err is MechaError {
  return err instanceof MechaError && (code === undefined || err.code === code)
}

/** gRPC status codes (grpc/grpc doc/statuscodes.md), by name; core stays free of @grpc/grpc-js. */
export const GRPC_CODES = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const

export type GrpcStatusName = keyof typeof GRPC_CODES

/**
 * Where Dapr's gRPC API answers a code with another status than the HTTP one implies (dapr/pkg/messages
 * predefined.go: e.g. ErrPubsubNotFound is HTTP 404 but codes.InvalidArgument; a store that is not
 * configured is FailedPrecondition). Every other code follows its HTTP status (grpcFromHttp).
 */
const GRPC_OVERRIDES: Partial<Record<ErrorCode, GrpcStatusName>> = {
  ERR_PUBSUB_NOT_FOUND: 'INVALID_ARGUMENT',
  ERR_PUBSUB_EMPTY: 'INVALID_ARGUMENT',
  ERR_TOPIC_NAME_EMPTY: 'INVALID_ARGUMENT',
  ERR_STATE_STORE_NOT_CONFIGURED: 'FAILED_PRECONDITION',
  ERR_LOCK_STORE_NOT_CONFIGURED: 'FAILED_PRECONDITION',
  ERR_HEALTH_NOT_READY: 'UNAVAILABLE',
  ERR_HEALTH_OUTBOUND_NOT_READY: 'UNAVAILABLE',
  MECHA_ERR_NOT_READY: 'UNAVAILABLE',
  MECHA_ERR_STORE_CLOSED: 'UNAVAILABLE',
  MECHA_ERR_CONFIG_INVALID: 'INVALID_ARGUMENT',
}

/** The gRPC status an HTTP status stands for (the mapping grpc-gateway and Dapr's invokev1 use, reversed). */
export function grpcFromHttp (status: number): GrpcStatusName {
  switch (status) {
    case 400: case 422: return 'INVALID_ARGUMENT'
    case 401: return 'UNAUTHENTICATED'
    case 403: return 'PERMISSION_DENIED'
    case 404: return 'NOT_FOUND'
    case 409: return 'ABORTED'
    case 412: return 'FAILED_PRECONDITION'
    case 413: case 429: case 507: return 'RESOURCE_EXHAUSTED'
    case 501: return 'UNIMPLEMENTED'
    case 502: case 503: return 'UNAVAILABLE'
    case 504: return 'DEADLINE_EXCEEDED'
    default: return status >= 400 && status < 500 ? 'FAILED_PRECONDITION' : 'INTERNAL'
  }
}

/** The gRPC status a code answers with on the gRPC API (docs/errors.md lists it beside the HTTP one). */
export function grpcStatusOf (code: ErrorCode): GrpcStatusName {
  return GRPC_OVERRIDES[code] ?? grpcFromHttp(ERRORS[code].status)
}

/** The gRPC status of one error: its code's, unless the error overrides the HTTP status (an ETag conflict
 *  wrapped in ERR_STATE_SAVE is 409, so ABORTED, as Dapr answers it). */
export function grpcStatusOfError (err: MechaError): GrpcStatusName {
  return err.status === ERRORS[err.code].status ? grpcStatusOf(err.code) : grpcFromHttp(err.status)
}
