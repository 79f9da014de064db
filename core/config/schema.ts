import { bool, host, int, obj, oneOf, port, str } from './schema-parts.ts'
import { componentSchema, subscriptionSchema } from './dapr-schema.ts'
import { cloudSchema } from './cloud-schema.ts'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * The one schema of mecha.yaml (ajv, draft-07). Defaults live here and only here (DESIGN.md "Defaults");
 * `additionalProperties: false` everywhere so a typo is an error, not a silently ignored key.
 */
export const configSchema = obj({
  id: str({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', 'x-message': 'must be 1-63 letters, digits, ".", "_" or "-"' }),
  dataDir: str({ minLength: 1, default: './data' }),
  componentsDir: str({ minLength: 1 }),
  log: obj({ level: oneOf(LOG_LEVELS, 'info'), pretty: { type: 'boolean' } }, { default: {} }),
  store: obj({ durability: oneOf(['process', 'power'], 'process') }, { default: {} }),
  mqtt: obj({
    host: host('127.0.0.1'),
    port: port(1883),
    maxPayloadBytes: int(1, 268435455, 262144),
    maxClients: int(1, 1_000_000, 1000),
    maxInflight: int(1, 65535, 100),
    /** Seconds a client may stay silent past its keepalive before it is dropped, as the spec's 1.5× rule. */
    connectTimeoutMs: int(100, 600_000, 30_000),
    /**
     * A CleanSession=0 session whose client stays offline this long is removed with its queue (MQTT 3.1.1 has no
     * session expiry; mosquitto's `persistent_client_expiration`). 0 = never. Default 7 days: longer than the
     * week-long outages the product rides through, short enough that an unplugged client cannot fill the disk.
     */
    sessionExpirySeconds: int(0, 315_360_000, 604_800),
    users: {
      type: 'array',
      default: [],
      items: obj({
        username: str({ minLength: 1 }),
        password: str({ pattern: '^scrypt\\$', 'x-message': 'must be a hash made by `mecha passwd` (scrypt$…), never a plain password' }),
      }, { required: ['username', 'password'] }),
    },
    acl: {
      type: 'array',
      default: [],
      items: obj({
        user: str({ minLength: 1 }),
        clientId: str({ minLength: 1 }),
        topic: str({ minLength: 1 }),
        access: oneOf(['publish', 'subscribe', 'both'], 'both'),
        allow: bool(true),
      }, { required: ['topic'] }),
    },
  }, { default: {} }),
  api: obj({
    host: host('127.0.0.1'),
    port: port(3500),
    token: str({ minLength: 1 }),
    maxBodyBytes: int(1024, 268435456, 4 * 1024 * 1024),
    /** The Dapr gRPC API (docs/grpc.md): on `api.host`; `grpc: false` turns it off (@grpc/grpc-js is then never loaded). */
    grpc: bool(true),
    grpcPort: port(50001),
    /** The largest gRPC message taken or sent (Dapr's --max-body-size). */
    grpcMaxMessageBytes: int(1024, 268435456, 4 * 1024 * 1024),
  }, { default: {} }),
  state: obj({
    /** The largest value one state save may carry. */
    maxValueBytes: int(1, 268435456, 1024 * 1024),
  }, { default: {} }),
  ui: obj({
    host: host('127.0.0.1'),
    port: port(8080),
    enabled: bool(true),
    /**
     * HTTPS on the UI port: `{cert, key}` PEM files, or `{selfSigned: true}` for a certificate made once and kept
     * in the data dir (`ui-tls/`). Absent = plain HTTP (fine on loopback; use TLS when `ui.host` is on the LAN).
     */
    tls: {
      ...obj({
        cert: str({ minLength: 1 }),
        key: str({ minLength: 1 }),
        selfSigned: { type: 'boolean', enum: [true], 'x-message': 'must be true (omit ui.tls for plain HTTP)' },
        /** Extra host names / IP addresses for the self-signed certificate's subjectAltName. */
        altNames: { type: 'array', items: str({ minLength: 1 }), default: [] },
      }),
      dependencies: { cert: ['key'], key: ['cert'] },
      anyOf: [{ required: ['cert'] }, { required: ['selfSigned'] }],
      if: { required: ['selfSigned'] },
      then: { not: { anyOf: [{ required: ['cert'] }, { required: ['key'] }] }, 'x-message': 'selfSigned and cert/key exclude each other' },
    },
    /** Admin sessions (kept in memory: a restart logs everyone out). */
    session: obj({
      /** Seconds without a request after which a session ends. */
      idleTimeoutSeconds: int(60, 86_400, 1800),
      /** Seconds after login after which a session ends however busy it is. */
      maxAgeSeconds: int(300, 2_592_000, 43_200),
    }, { default: {} }),
  }, { default: {} }),
  metrics: obj({
    host: host('127.0.0.1'),
    port: port(9090),
    enabled: bool(true),
  }, { default: {} }),
  cloud: cloudSchema,
  components: { type: 'array', default: [], items: componentSchema },
  subscriptions: { type: 'array', default: [], items: subscriptionSchema },
  apps: {
    type: 'array',
    default: [],
    items: obj({
      id: str({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', 'x-message': 'must be letters, digits, ".", "_" or "-"' }),
      command: str({ minLength: 1 }),
      args: { type: 'array', items: { type: 'string' }, default: [] },
      cwd: str({ minLength: 1 }),
      env: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
      appPort: int(1, 65535),
      appHost: host('127.0.0.1'),
      /** How the runtime calls the app (Dapr's --app-protocol): HTTP routes, or the gRPC AppCallback service. */
      appProtocol: oneOf(['http', 'grpc'], 'http'),
      restart: oneOf(['always', 'on-failure', 'never'], 'always'),
      /** Superseded by `health.path` (kept: it also turns the health probe on). */
      healthPath: str({ minLength: 1 }),
      // Supervision (core/supervisor): start order, restart backoff, crash loop, Dapr app-health probes, stop, logs.
      dependsOn: { type: 'array', items: str({ minLength: 1 }), default: [], uniqueItems: true },
      backoff: obj({
        initialMs: int(1, 3_600_000, 500),
        maxMs: int(1, 86_400_000, 30_000),
        resetAfterMs: int(0, 86_400_000, 30_000),
      }, { default: {} }),
      crashLoop: obj({
        failures: int(1, 1000, 5),
        windowMs: int(1, 86_400_000, 60_000),
      }, { default: {} }),
      // Dapr's appHealthCheckPath / appHealthProbeInterval / appHealthProbeTimeout / appHealthThreshold.
      health: obj({
        path: str({ pattern: '^/', 'x-message': 'must be a path starting with "/"', default: '/healthz' }),
        intervalMs: int(100, 3_600_000, 5000),
        timeoutMs: int(10, 600_000, 500),
        threshold: int(1, 1000, 3),
        restartAfter: int(0, 100_000, 12),
      }),
      stopGraceMs: int(0, 600_000, 3000),
      logs: obj({
        maxBytes: int(1024, 1_073_741_824, 1_048_576),
        files: int(0, 100, 3),
      }, { default: {} }),
      // Service invocation to this app (docs/pubsub.md): a deadline per call, and retries of calls that never reached it.
      invoke: obj({
        timeoutMs: int(1, 3_600_000, 60_000),
        maxRetries: int(0, 100, 3),
        retryIntervalMs: int(0, 60_000, 1000),
      }, { default: {} }),
    }, { required: ['id'] }),
  },
}, { default: {} })
