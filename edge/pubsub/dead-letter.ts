/**
 * Waiting between attempts, and the dead-letter publish (docs.dapr.io/developing-applications/building-blocks/
 * pubsub/pubsub-deadletter): an event whose retries ran out goes, as the same CloudEvent, to the
 * subscription's deadLetterTopic on the same broker, where any subscriber (Dapr or MQTT) can take it.
 */
import type { Clock } from '../../core/clock.ts'
import type { LocalBus } from '../../core/bus.ts'
import type { Logger } from '../../core/logger.ts'
import type { CloudEvent } from './cloudevent.ts'
import { retryDelay, type RetryPolicy } from './retry-policy.ts'

/** Resolves true after `ms`, or false as soon as the signal aborts. */
export function sleep (clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = (): void => { clock.clearTimeout(handle); resolve(false) }
    const handle = clock.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(true) }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Publishes the event to the dead-letter topic, retrying (with the subscription's backoff, without limit)
 * until the bus takes it or the signal aborts: the event must not be acknowledged before it is safe there.
 */
export async function deadLetter (bus: LocalBus, topic: string, ce: CloudEvent, retry: RetryPolicy, clock: Clock, signal: AbortSignal, log: Logger): Promise<boolean> {
  const payload = Buffer.from(JSON.stringify(ce))
  for (let i = 0; ; i++) {
    try {
      await bus.publish({ topic, payload, qos: 1, retain: false, origin: 'deadletter' })
      return true
    } catch (err) {
      log.warn({ topic, id: ce.id, err: (err as Error).message }, 'dead-letter publish failed; retrying')
      if (!await sleep(clock, retryDelay(retry, Math.min(i, 20)), signal)) return false
    }
  }
}
