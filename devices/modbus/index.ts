/** `bindings.modbus`: the factory. modbus-serial (and, for RTU, the serialport addon) loads in `create`, never at config check. */
import type { BindingFactory } from '../../core/bindings/types.ts'
import { MechaError } from '../../core/errors.ts'
import type { ModbusClientClass } from './link.ts'
import { parseModbusMetadata, validateModbus } from './validate.ts'

export const modbusFactory: BindingFactory = {
  type: 'bindings.modbus',
  validate: validateModbus,
  async create (component, ctx) {
    const { options, problems } = parseModbusMetadata(component.metadata)
    if (problems.length > 0) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `component ${component.name}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: problems })
    let Client: ModbusClientClass
    try {
      const mod = await import('modbus-serial') as unknown as { default: ModbusClientClass & { default?: ModbusClientClass } }
      // A CommonJS module: module.exports is the class, and also its own `default`.
      Client = mod.default.default ?? mod.default
    } catch (err) {
      throw new MechaError('MECHA_ERR_DEPENDENCY', `the Modbus library (modbus-serial) cannot be loaded: ${(err as Error).message}`, { cause: err })
    }
    const { ModbusBinding } = await import('./binding.ts')
    return new ModbusBinding(component, ctx, options, Client)
  },
}

export default modbusFactory
export { parseModbusMetadata, validateModbus, type ModbusOptions } from './validate.ts'
export { parseProfile, parseProfileText, type Point, type Profile } from './profile.ts'
export type { ModbusBinding, UnitStatus } from './binding.ts'
