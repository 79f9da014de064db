/**
 * The device bindings this build ships, for the composition root: `new BindingRegistry(builtinBindings)`.
 * Each entry validates with a light module (no driver, no addon) and loads its driver on first use.
 */
import type { BindingDefinition } from '../core/bindings/registry.ts'
import { validateCron } from './cron/validate.ts'
import { validateGpio } from './gpio/validate.ts'
import { validateModbus } from './modbus/validate.ts'
import { validateSerial } from './serial/validate.ts'

export const builtinBindings: Readonly<Record<string, BindingDefinition>> = Object.freeze({
  'bindings.serial': { validate: validateSerial, load: async () => (await import('./serial/index.ts')).serialFactory },
  'bindings.cron': { validate: validateCron, load: async () => (await import('./cron/index.ts')).cronFactory },
  'bindings.gpio': { validate: validateGpio, load: async () => (await import('./gpio/index.ts')).gpioFactory },
  'bindings.modbus': { validate: validateModbus, load: async () => (await import('./modbus/index.ts')).modbusFactory },
})

export { listSerialPorts, type SerialPortInfo } from './serial/list-ports.ts'
