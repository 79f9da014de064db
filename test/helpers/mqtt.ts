import { once, type EventEmitter } from 'node:events'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'

/** `events.once` for MQTT.js clients, whose typed emitter does not satisfy node's overloads. */
export function onceOn (emitter: unknown, name: string): Promise<unknown[]> {
  return once(emitter as EventEmitter, name)
}

/** Connects an MQTT.js client and waits for CONNACK (rejects with the CONNACK error, no reconnect loop). */
export async function connect (url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts })
  try {
    await Promise.race([
      onceOn(client, 'connect'),
      onceOn(client, 'error').then(([err]) => { throw err }),
      onceOn(client, 'close').then(() => { throw new Error('closed before CONNACK') }),
    ])
  } catch (err) {
    client.end(true)
    throw err
  }
  return client
}

/** Collects messages on a client until `count` arrived or the timeout passed. */
export function collect (client: MqttClient, count: number, timeoutMs = 10000): Promise<Array<{ topic: string; payload: string; retain: boolean }>> {
  const got: Array<{ topic: string; payload: string; retain: boolean }> = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { client.off('message', on); reject(new Error(`got ${got.length} of ${count} messages`)) }, timeoutMs)
    const on = (topic: string, payload: Buffer, packet: { retain?: boolean }): void => {
      got.push({ topic, payload: payload.toString(), retain: packet.retain === true })
      if (got.length >= count) { clearTimeout(timer); client.off('message', on); resolve(got) }
    }
    client.on('message', on)
  })
}

export async function closeAll (...clients: Array<MqttClient | undefined>): Promise<void> {
  await Promise.all(clients.map((c) => (c === undefined ? undefined : c.endAsync(true).catch(() => {}))))
}
