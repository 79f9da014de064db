import type { AdminRoutes } from '../context.ts'
import { appRoutes } from './apps.ts'
import { bindingRoutes } from './bindings.ts'
import { cloudRoutes } from './cloud.ts'
import { componentRoutes } from './components.ts'
import { configRoutes } from './config.ts'
import { mqttRoutes } from './mqtt.ts'
import { sessionRoutes } from './session.ts'
import { stateRoutes } from './state.ts'
import { statusRoutes } from './status.ts'

/** Every admin route file, one per area of the API (docs/admin-api.md). */
export const ADMIN_ROUTES: readonly AdminRoutes[] = [sessionRoutes, statusRoutes, appRoutes, componentRoutes, configRoutes, cloudRoutes, mqttRoutes, stateRoutes, bindingRoutes]
