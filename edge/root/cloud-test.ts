/**
 * "Test connection" of the web UI's Cloud page: connects once to a cloud broker with a cloud section that is
 * not saved yet, and says what the broker answered (CONNACK, or the refusal, TLS or network error). The
 * section is validated by the config's own cloud validation first; nothing is published or subscribed.
 */
import { readFile } from 'node:fs/promises'
import mqtt from 'mqtt'
import { parseCloudConfig } from '../../core/config/validate.ts'
import { isMechaError } from '../../core/errors.ts'

const REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version', 2: 'client id rejected', 3: 'server unavailable', 4: 'bad user name or password', 5: 'not authorized',
  0x86: 'bad user name or password', 0x87: 'not authorized', 0x85: 'client id not valid', 0x88: 'server unavailable', 0x8a: 'banned',
}

export async function testCloudConnection (section: unknown, nodeId: string, timeoutMs = 8000): Promise<{ ok: boolean; message: string }> {
  let cfg
  try { cfg = parseCloudConfig(section as never) } catch (err) {
    if (isMechaError(err, 'MECHA_ERR_CONFIG_INVALID')) return { ok: false, message: (err.details as Array<{ path: string; message: string }>).map((p) => `${p.path}: ${p.message}`).join('; ') }
    throw err
  }
  let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}
  try {
    tls = {
      ...(cfg.ca === undefined ? {} : { ca: await readFile(cfg.ca) }),
      ...(cfg.cert === undefined ? {} : { cert: await readFile(cfg.cert) }),
      ...(cfg.key === undefined ? {} : { key: await readFile(cfg.key) }),
    }
  } catch (err) { return { ok: false, message: `cannot read a TLS file: ${(err as Error).message}` } }
  const started = Date.now()
  const client = mqtt.connect(cfg.url, {
    protocolVersion: cfg.protocolVersion,
    // Its own client id: taking the link's would disconnect the running link (MQTT's session takeover).
    clientId: `${cfg.clientId.replaceAll('{id}', nodeId)}-test-${process.pid}`,
    clean: true,
    connectTimeout: timeoutMs,
    reconnectPeriod: 0,
    rejectUnauthorized: cfg.rejectUnauthorized,
    ...(cfg.username === undefined ? {} : { username: cfg.username }),
    ...(cfg.password === undefined ? {} : { password: cfg.password }),
    ...(cfg.servername === undefined ? {} : { servername: cfg.servername }),
    ...tls,
  })
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => { resolve({ ok: false, message: `no answer from ${cfg.url} within ${timeoutMs} ms` }) }, timeoutMs + 500)
      client.once('connect', (connack) => {
        clearTimeout(timer)
        resolve({ ok: true, message: `connected to ${cfg.url} in ${Date.now() - started} ms (MQTT ${cfg.protocolVersion === 5 ? '5' : '3.1.1'}, session present: ${String(connack.sessionPresent)})` })
      })
      client.once('error', (err: Error & { code?: number | string }) => {
        clearTimeout(timer)
        const refused = typeof err.code === 'number' ? REFUSALS[err.code] : undefined
        resolve({ ok: false, message: refused !== undefined ? `${cfg.url} refused the connection: ${refused} (code ${String(err.code)})` : `${cfg.url}: ${err.message}` })
      })
    })
  } finally {
    client.end(true)
  }
}
