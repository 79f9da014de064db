import { bool, host, int, obj, port, str } from '../schema-parts.ts'
import type { ConfigSection } from './section.ts'

/** The Dapr API (HTTP, and gRPC beside it). */
export const apiSection: ConfigSection = {
  key: 'api',
  schema: obj({
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
  listeners: (c) => [
    { path: 'api.port', host: c.api.host, port: c.api.port },
    ...(c.api.grpc === false ? [] : [{ path: 'api.grpcPort', host: c.api.host, port: c.api.grpcPort }]),
  ],
}

/** The web UI and admin API (and MQTT over WebSocket) on one port. */
export const uiSection: ConfigSection = {
  key: 'ui',
  schema: obj({
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
  listeners: (c) => c.ui.enabled === true ? [{ path: 'ui.port', host: c.ui.host, port: c.ui.port }] : [],
}

/** Prometheus metrics. */
export const metricsSection: ConfigSection = {
  key: 'metrics',
  schema: obj({
    host: host('127.0.0.1'),
    port: port(9090),
    enabled: bool(true),
  }, { default: {} }),
  listeners: (c) => c.metrics.enabled === true ? [{ path: 'metrics.port', host: c.metrics.host, port: c.metrics.port }] : [],
}
