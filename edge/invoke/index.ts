export { invokeRoutes, type InvokeRouteDeps } from './invoke-routes.ts'
export { invokeApp, type InvokeRequest, type InvokeResponse } from './forward.ts'
export { callApp, type AppCall, type AppCallResult } from './app-http.ts'
