/**
 * Routing rules (docs.dapr.io/developing-applications/building-blocks/pubsub/howto-route-messages): the first
 * rule whose CEL `match` is true over the CloudEvent (`event.type`, `event.data.kind`, …) gives the path,
 * else `routes.default`; with neither, the event is dropped (Dapr does the same). CEL by @marcbachmann/cel-js.
 */
import { createRequire } from 'node:module'
import type { Environment } from '@marcbachmann/cel-js'
import type { CloudEvent } from './cloudevent.ts'
import type { Rule } from './subscription.ts'

let env: Environment | undefined

/**
 * The CEL library loads on the first `match` rule, not at start: most gateways route by topic alone, and it
 * costs start-up time and heap (issue 16). Synchronous because a subscription is checked as it is built. In the
 * executable (one CommonJS bundle) `require` exists and esbuild bundles this literal call, evaluating the module
 * only when it runs; from source (ESM) there is no `require`, and createRequire loads the ES module (Node ≥ 20.19).
 */
function celEnvironment (): Environment {
  if (env === undefined) {
    const cel = (typeof require === 'function' ? require('@marcbachmann/cel-js') : createRequire(import.meta.url)('@marcbachmann/cel-js')) as typeof import('@marcbachmann/cel-js')
    env = new cel.Environment().registerVariable('event', 'dyn')
  }
  return env
}

type Compiled = { path: string; test: ((ctx: { event: unknown }) => unknown) | undefined }

export class Router {
  readonly #rules: Compiled[]
  readonly #default: string | undefined

  /** Throws when a match expression does not parse (the subscription is then rejected with that message). */
  constructor (rules: readonly Rule[], defaultPath: string | undefined) {
    this.#rules = rules.map((r) => ({ path: r.path, test: r.match.trim() === '' ? undefined : compile(r.match) }))
    this.#default = defaultPath
  }

  /** The path for this event, or undefined when no rule matches and there is no default. */
  route (event: CloudEvent): string | undefined {
    for (const r of this.#rules) {
      if (r.test === undefined) return r.path
      // A rule that fails to evaluate (a missing key, a type mismatch) does not match; the next one is tried.
      try { if (r.test({ event }) === true) return r.path } catch {}
    }
    return this.#default
  }
}

function compile (expr: string): (ctx: { event: unknown }) => unknown {
  try {
    return celEnvironment().parse(expr) as (ctx: { event: unknown }) => unknown
  } catch (err) {
    throw new Error(`routing rule "${expr}" is not valid CEL: ${(err as Error).message.split('\n')[0]}`)
  }
}
