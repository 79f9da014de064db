/** `bindings.serial`: the factory. The driver and its addon load in `create`, never at config check. */
import type { BindingFactory } from '../../core/bindings/types.ts'
import { MechaError } from '../../core/errors.ts'
import { parseSerialMetadata, validateSerial } from './validate.ts'

export const serialFactory: BindingFactory = {
  type: 'bindings.serial',
  validate: validateSerial,
  async create (component, ctx) {
    const { options, problems } = parseSerialMetadata(component.metadata)
    if (problems.length > 0) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `component ${component.name}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: problems })
    let mod: typeof import('serialport')
    try { mod = await import('serialport') } catch (err) {
      throw new MechaError('MECHA_ERR_NATIVE_ADDON', `the serial port library cannot be loaded: ${(err as Error).message}`, { cause: err })
    }
    const { SerialBinding } = await import('./binding.ts')
    return new SerialBinding(component, ctx, options, mod.SerialPort)
  },
}

export default serialFactory
export { parseSerialMetadata, validateSerial, type SerialOptions } from './validate.ts'
