import type { ComponentDoc } from '../../core/config/index.ts'

/** The built-in pub/sub (DESIGN: `pubsub`, the embedded broker). */
export const BUILTIN_PUBSUB = 'pubsub'

/**
 * Every pub/sub name: `pubsub` and each `pubsub.mqtt` component. All of them are the embedded broker, so a
 * topic is the same MQTT topic under any of these names; the name travels in the CloudEvent `pubsubname`.
 */
export function pubsubNames (components: readonly ComponentDoc[]): string[] {
  return [BUILTIN_PUBSUB, ...components.filter((c) => c.spec.type === 'pubsub.mqtt').map((c) => c.metadata.name)]
}
