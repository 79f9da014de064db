/**
 * The metadata API without a transport (docs.dapr.io/reference/api/metadata_api): what the runtime reports
 * (the composition root assembles it) and the app-set `extended` attributes. HTTP `GET/PUT /v1.0/metadata`
 * and gRPC GetMetadata/SetMetadata adapt to it.
 */
export interface MetadataBody {
  id: string
  runtimeVersion: string
  enabledFeatures: string[]
  actorRuntime: { runtimeStatus: string; activeActors: unknown[]; hostReady: boolean; placement: string }
  components: Array<{ name: string; type: string; version: string; capabilities: string[] }>
  httpEndpoints: unknown[]
  subscriptions: unknown[]
  appConnectionProperties: Record<string, unknown>
  /** Dapr's free-form string map; Mecha puts broker, store and cloud-link figures here. */
  extended: Record<string, string>
}

export interface MetadataDeps {
  metadata: () => Promise<MetadataBody>
  /** `PUT /v1.0/metadata/{key}` stores app-supplied attributes in `extended`, as Dapr does. */
  setExtended: (key: string, value: string) => void
}

export class MetadataService {
  readonly #d: MetadataDeps
  constructor (deps: MetadataDeps) { this.#d = deps }
  async get (): Promise<MetadataBody> { return await this.#d.metadata() }
  set (key: string, value: string): void { this.#d.setExtended(key, value) }
}
