import { MechaError } from './errors.ts'
import type { Logger } from './logger.ts'

interface Part { name: string; close: () => Promise<void> }

/**
 * Ordered start, reverse stop (CONVENTIONS 5): each part is registered as soon as it has started, so a start
 * that fails half-way closes exactly what was started, newest first. Stopping is bounded: a part that does
 * not close within its share of the budget is logged and skipped so the rest (above all the store, which
 * must release its lock) still close.
 */
export class Lifecycle {
  readonly #parts: Part[] = []
  readonly #log: Logger
  #stopping: Promise<void> | undefined

  constructor (log: Logger) {
    this.#log = log
  }

  /** Starts a part and registers its close. */
  async start<T extends { close: () => Promise<void> }> (name: string, create: () => Promise<T>): Promise<T> {
    const started = Date.now()
    const part = await create()
    this.#parts.push({ name, close: () => part.close() })
    this.#log.debug({ part: name, ms: Date.now() - started }, 'started')
    return part
  }

  /** Registers a close for something started elsewhere. */
  add (name: string, close: () => Promise<void>): void {
    this.#parts.push({ name, close })
  }

  /** Idempotent: a second call returns the first call's promise. */
  stop (budgetMs = 4500): Promise<void> {
    this.#stopping ??= this.#stop(budgetMs)
    return this.#stopping
  }

  async #stop (budgetMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs
    const failures: string[] = []
    for (const part of this.#parts.splice(0).reverse()) {
      const left = Math.max(100, deadline - Date.now())
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          part.close(),
          new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new MechaError('MECHA_ERR_SHUTDOWN_TIMEOUT', `${part.name} did not stop within ${left} ms`)) }, left) }),
        ])
        this.#log.debug({ part: part.name }, 'stopped')
      } catch (err) {
        failures.push(part.name)
        this.#log.error({ err, part: part.name }, 'stop failed')
      } finally {
        clearTimeout(timer)
      }
    }
    if (failures.length > 0) throw new MechaError('MECHA_ERR_SHUTDOWN_TIMEOUT', `parts that did not stop cleanly: ${failures.join(', ')}`)
  }
}
