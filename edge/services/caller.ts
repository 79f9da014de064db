/** Who calls the API, already resolved by the transport (token, `dapr-app-id`, or the runtime's own id). */
export interface Caller {
  readonly appId: string
}
