import { appsSection } from './apps.ts'
import { cloudSection } from './cloud.ts'
import { componentsSection, subscriptionsSection } from './documents.ts'
import { apiSection, metricsSection, uiSection } from './listening.ts'
import { mqttSection } from './mqtt.ts'
import { runtimeSections, stateSection } from './runtime.ts'
import type { ConfigSection } from './section.ts'

/** Every section of mecha.yaml, in the order of the file's documentation. */
export const SECTIONS: readonly ConfigSection[] = [
  ...runtimeSections,
  mqttSection,
  apiSection,
  stateSection,
  uiSection,
  metricsSection,
  cloudSection,
  componentsSection,
  subscriptionsSection,
  appsSection,
]

export { LOG_LEVELS } from './runtime.ts'
export { isLoopback, listenerClashes } from './listeners.ts'
export { appProblems } from './apps.ts'
export type { CheckContext, ConfigSection } from './section.ts'
