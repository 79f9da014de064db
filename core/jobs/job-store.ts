/**
 * The jobs' durable home: one namespace of the runtime's LevelDB (`store.namespace('jobs')`), one entry per
 * job under `<appId>||<name>`. Every state change of a job — scheduled, trigger taken (before delivery),
 * delivered, retried, finished — is one put or del here, so a restart (or kill -9) resumes from the last one.
 */
import type { Namespace } from '../store/index.ts'
import type { JobRecord } from './types.ts'

const SEP = '||'

export function jobKey (appId: string, name: string): string {
  if (appId.includes(SEP)) throw new TypeError(`an app id cannot contain "${SEP}": ${appId}`)
  return `${appId}${SEP}${name}`
}

export class JobStore {
  readonly #ns: Namespace<JobRecord>

  constructor (ns: Namespace<any>) { this.#ns = ns as Namespace<JobRecord> }

  async get (appId: string, name: string): Promise<JobRecord | undefined> {
    return await this.#ns.get(jobKey(appId, name))
  }

  async put (rec: JobRecord): Promise<void> {
    await this.#ns.put(jobKey(rec.appId, rec.name), rec)
  }

  async delete (appId: string, name: string): Promise<void> {
    await this.#ns.del(jobKey(appId, name))
  }

  /** Every job, in key order (app id, then name). */
  async all (): Promise<JobRecord[]> {
    const out: JobRecord[] = []
    for await (const [, rec] of this.#ns.entries()) out.push(rec)
    return out
  }
}
