/**
 * The set-up most cloud-bridge tests share: a real mosquitto as the cloud, an aedes bus as the gateway's broker,
 * a store, a cloud subscriber, the bridge (connected), and a local MQTT publisher. `close()` undoes it all.
 */
import type { IClientOptions, MqttClient } from 'mqtt'
import { CloudBridge, type CloudConfigInput } from '../../cloud-bridge/index.ts'
import { LevelStore, MemoryStore, type Store } from '../../core/store/index.ts'
import { AedesBus } from '../helpers/aedes-bus.ts'
import { Mosquitto } from '../helpers/mosquitto.ts'
import { TcpProxy } from '../helpers/tcp-proxy.ts'
import { cleanupTmp, tmpDir } from '../helpers/tmp.ts'
import { CloudSubscriber, connectClient, testLogger, waitFor } from './helpers.ts'

export interface RigOptions {
  nodeId: string
  /** The bridge config without `url` (the rig points it at mosquitto, or at the proxy). */
  config: Omit<CloudConfigInput, 'url'>
  /** `level` (in a temp dir) or `memory`. @default 'level' */
  store?: 'level' | 'memory'
  /** Put a cuttable TCP proxy between the bridge and mosquitto. */
  proxy?: boolean
  /** Options of the cloud subscriber (a persistent session survives mosquitto restarts). */
  cloudOptions?: IClientOptions
}

export interface Rig {
  mosq: Mosquitto
  proxy: TcpProxy | undefined
  bus: AedesBus
  store: Store
  bridge: CloudBridge
  cloud: CloudSubscriber
  local: MqttClient
  close: () => Promise<void>
}

/** A cloud subscriber session that outlives mosquitto restarts. */
export const persistentCloud = (clientId: string): IClientOptions => ({ clientId, clean: false, reconnectPeriod: 100, properties: { sessionExpiryInterval: 3600 } })

export async function startRig (o: RigOptions): Promise<Rig> {
  const mosq = await Mosquitto.start()
  const proxy = o.proxy === true ? await TcpProxy.create(mosq.port) : undefined
  const bus = await AedesBus.create()
  const store: Store = o.store === 'memory' ? await MemoryStore.create() : await LevelStore.create({ dataDir: await tmpDir(o.nodeId) })
  const cloud = await CloudSubscriber.create(mosq.url, `gateways/${o.nodeId}/#`, o.cloudOptions)
  const url = proxy === undefined ? mosq.url : `mqtt://127.0.0.1:${proxy.port}`
  const bridge = await CloudBridge.create({ nodeId: o.nodeId, config: { ...o.config, url } as CloudConfigInput, store, bus, log: testLogger() })
  await waitFor(() => bridge.snapshot().connected, 5000, 'bridge connected')
  const local = await connectClient(bus.url, { protocolVersion: 4, clientId: `sensor-${o.nodeId}` })
  return {
    mosq, proxy, bus, store, bridge, cloud, local,
    close: async () => {
      await local.endAsync(true)
      await cloud.close()
      await bridge.close()
      await proxy?.close()
      await bus.close()
      await store.close()
      await mosq.stop()
      await cleanupTmp()
    },
  }
}
