/** `bindings.gpio`: the factory; picks the backend from the line's address (chip + line → libgpiod, sysfs → sysfs). */
import type { BindingFactory } from '../../core/bindings/types.ts'
import { systemClock } from '../../core/clock.ts'
import { MechaError } from '../../core/errors.ts'
import { GpioBinding } from './binding.ts'
import { LibgpiodLine } from './libgpiod.ts'
import { SysfsLine } from './sysfs.ts'
import { parseGpioMetadata, validateGpio } from './validate.ts'

export const gpioFactory: BindingFactory = {
  type: 'bindings.gpio',
  validate: validateGpio,
  async create (component, ctx) {
    const { options, problems } = parseGpioMetadata(component.metadata)
    if (problems.length > 0) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `component ${component.name}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: problems })
    return new GpioBinding(component, ctx, options, (o, c) => o.backend === 'sysfs'
      ? new SysfsLine({ root: o.sysfsRoot, number: o.sysfs!, direction: o.direction, initial: o.initial, activeLow: o.activeLow, pollIntervalMs: o.pollIntervalMs }, c.clock ?? systemClock)
      : new LibgpiodLine({ chip: o.chip!, offset: o.line!, activeLow: o.activeLow, bias: o.bias }, o.direction, o.initial))
  },
}

export default gpioFactory
export { parseGpioMetadata, validateGpio, type GpioOptions } from './validate.ts'
export { gpiodArgs, parseGpiodVersion, parseMonLine } from './libgpiod.ts'
