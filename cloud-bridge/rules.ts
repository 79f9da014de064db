/** The forward and receive rules with `{id}` expanded once, and the lookups the bridge needs. */
import type { CloudConfig, ForwardRule, Qos } from '../core/config/cloud-schema.ts'
import { expandId, mapTopic, matchTopic } from './topics.ts'
import type { BatchLimits } from './sender.ts'

export interface CompiledForward {
  readonly from: string
  readonly to: string
  readonly qos: Qos
  readonly retain: boolean | undefined
  readonly priority: number
  readonly ttlMs: number | undefined
  readonly queueQos0: boolean
  readonly batchTopic: string | undefined
}

export interface CompiledReceive { readonly from: string; readonly to: string; readonly qos: Qos }

export class Rules {
  readonly forward: readonly CompiledForward[]
  readonly receive: readonly CompiledReceive[]
  /** Batch topic → limits, for the sender. */
  readonly batches: ReadonlyMap<string, BatchLimits>

  constructor (config: CloudConfig, nodeId: string) {
    const batches = new Map<string, BatchLimits>()
    this.forward = config.forward.map((r: ForwardRule) => {
      const to = expandId(r.to, nodeId)
      const batchTopic = r.batch === undefined ? undefined : expandId(r.batch.topic.replaceAll('{to}', to), nodeId)
      if (r.batch !== undefined && batchTopic !== undefined) batches.set(batchTopic, { maxMessages: r.batch.maxMessages, maxDelayMs: r.batch.maxDelayMs })
      return {
        from: expandId(r.from, nodeId),
        to,
        qos: r.qos,
        retain: r.retain,
        priority: r.priority,
        ttlMs: r.ttlSeconds === undefined ? undefined : r.ttlSeconds * 1000,
        queueQos0: r.queueQos0,
        batchTopic,
      }
    })
    this.receive = config.receive.map((r) => ({ from: expandId(r.from, nodeId), to: expandId(r.to, nodeId), qos: r.qos }))
    this.batches = batches
  }

  /** The first forward rule matching a local topic (rules are tried in config order). */
  forwardFor (topic: string): { rule: CompiledForward; cloudTopic: string } | undefined {
    for (const rule of this.forward) if (matchTopic(rule.from, topic)) return { rule, cloudTopic: mapTopic(rule.from, rule.to, topic) }
    return undefined
  }

  /** The first receive rule matching a cloud topic, and the local topic it maps to. */
  receiveFor (topic: string): { rule: CompiledReceive; localTopic: string } | undefined {
    for (const rule of this.receive) if (matchTopic(rule.from, topic)) return { rule, localTopic: mapTopic(rule.from, rule.to, topic) }
    return undefined
  }

  get hasTtl (): boolean { return this.forward.some((r) => r.ttlMs !== undefined) }
}
