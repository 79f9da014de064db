/** `bindings.cron`: the factory. Nothing heavy to load: the schedule parser is core's. */
import type { BindingFactory } from '../../core/bindings/types.ts'
import { MechaError } from '../../core/errors.ts'
import { CronBinding } from './binding.ts'
import { parseCronMetadata, validateCron } from './validate.ts'

export const cronFactory: BindingFactory = {
  type: 'bindings.cron',
  validate: validateCron,
  async create (component, ctx) {
    const { options, problems } = parseCronMetadata(component.metadata)
    if (options === undefined) throw new MechaError('MECHA_ERR_CONFIG_INVALID', `component ${component.name}: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { details: problems })
    return new CronBinding(component, ctx, options)
  },
}

export default cronFactory
export { CronBinding, goUtcString } from './binding.ts'
export { CRON_BINDING_SCHEDULE, parseCronMetadata, validateCron, type CronOptions } from './validate.ts'
