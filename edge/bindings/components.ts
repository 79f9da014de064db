import { BindingRegistry } from '../../core/bindings/registry.ts'
import type { BindingComponent } from '../../core/bindings/index.ts'
import { componentMetadata, type MechaConfig } from '../../core/config/index.ts'

/** What a binding offers, as Dapr's metadata lists binding capabilities. */
export function bindingCapabilities (m: { directions: string[] } | undefined): string[] {
  if (m === undefined) return []
  return [...(m.directions.includes('input') ? ['INPUT_BINDING'] : []), ...(m.directions.includes('output') ? ['OUTPUT_BINDING'] : [])]
}

/** Binding components of a config, as the binding host takes them. */
export function bindingComponents (config: MechaConfig): BindingComponent[] {
  return config.components.filter((c) => BindingRegistry.isBindingType(c.spec.type)).map((c) => ({ name: c.metadata.name, type: c.spec.type, metadata: componentMetadata(c) }))
}

