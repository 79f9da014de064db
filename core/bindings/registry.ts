/**
 * Binding types by Dapr component `spec.type`. Core imports no driver: each type is registered with a light,
 * synchronous `validate` (for `mecha check` and config reloads — never loads a native addon) and a `load`
 * function that imports the driver module the first time a binding of that type is created
 * (CONVENTIONS 13). The built-in list lives in `devices/index.ts` (`builtinBindings`); the composition root
 * hands it over: `new BindingRegistry(builtinBindings)`.
 */
import { MechaError } from '../errors.ts'
import type { ConfigProblem } from '../config/types.ts'
import { hostMetadataProblems } from './metadata.ts'
import type { Binding, BindingComponent, BindingContext, BindingFactory } from './types.ts'

export interface BindingDefinition {
  /** Problems with the component's metadata (paths relative to the component); pure and synchronous. */
  validate(component: BindingComponent): ConfigProblem[]
  /** Imports the driver; called once, on first use. */
  load(): Promise<BindingFactory>
}

export class BindingRegistry {
  readonly #defs = new Map<string, BindingDefinition>()
  readonly #loaded = new Map<string, Promise<BindingFactory>>()

  constructor (defs: Readonly<Record<string, BindingDefinition>> = {}) {
    for (const [type, def] of Object.entries(defs)) this.register(type, def)
  }

  register (type: string, def: BindingDefinition): void {
    if (this.#defs.has(type)) throw new TypeError(`binding type ${type} is already registered`)
    this.#defs.set(type, def)
  }

  has (type: string): boolean { return this.#defs.has(type) }
  types (): string[] { return [...this.#defs.keys()].sort() }

  /** Dapr binding types are `bindings.*`; the config pipeline sends only those here. */
  static isBindingType (type: string): boolean { return type.startsWith('bindings.') }

  /** Every problem with one component, paths relative to it (`spec.type`, `spec.metadata.baudRate`). Sync, no I/O. */
  validate (component: BindingComponent): ConfigProblem[] {
    const def = this.#defs.get(component.type)
    if (def === undefined) {
      return [{ path: 'spec.type', message: `unknown binding type ${JSON.stringify(component.type)}; known: ${this.types().join(', ')}` }]
    }
    return [...hostMetadataProblems(component.metadata), ...def.validate(component)]
  }

  /** Validates, loads the driver (once per type) and creates the binding, not yet open. */
  async create (component: BindingComponent, ctx: BindingContext): Promise<Binding> {
    const problems = this.validate(component)
    if (problems.length > 0) {
      throw new MechaError('MECHA_ERR_CONFIG_INVALID', `component ${component.name}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: problems })
    }
    const factory = await this.#factory(component.type)
    return await factory.create(component, ctx)
  }

  #factory (type: string): Promise<BindingFactory> {
    let p = this.#loaded.get(type)
    if (p === undefined) {
      p = this.#defs.get(type)!.load()
      this.#loaded.set(type, p)
      // A failed load (a missing addon) is retried next time rather than remembered forever.
      p.catch(() => { if (this.#loaded.get(type) === p) this.#loaded.delete(type) })
    }
    return p
  }
}
