/**
 * The CA, client certificate and key files of the cloud link, re-read when they change so a rotated
 * certificate (AWS IoT, Azure DPS, a step-ca renewal) takes effect without a restart.
 *
 * Polls with fs.watchFile (a stat poll) rather than fs.watch: renewal tools replace files by rename, which
 * inotify-based watches lose track of. A new pair is accepted only once cert and key match
 * (tls.createSecureContext), so the half-written state between replacing one file and the other is ignored.
 */
import { readFile } from 'node:fs/promises'
import { unwatchFile, watchFile, type Stats } from 'node:fs'
import { createSecureContext } from 'node:tls'
import type { Logger } from '../core/logger.ts'

export interface TlsMaterial { ca?: Buffer; cert?: Buffer; key?: Buffer }

export interface TlsFilePaths { ca?: string; cert?: string; key?: string }

export class TlsFiles {
  readonly #paths: TlsFilePaths
  readonly #log: Logger
  readonly #intervalMs: number
  #current: TlsMaterial = {}
  #onChange: () => void = () => {}
  #debounce: NodeJS.Timeout | undefined
  readonly #watched: Array<[string, (c: Stats, p: Stats) => void]> = []
  #closed = false

  private constructor (paths: TlsFilePaths, intervalMs: number, log: Logger) {
    this.#paths = paths
    this.#intervalMs = intervalMs
    this.#log = log
  }

  /** Reads the files once (throws when one is missing or the pair does not match) and starts watching them. */
  static async create (paths: TlsFilePaths, intervalMs: number, log: Logger): Promise<TlsFiles> {
    const files = new TlsFiles(paths, intervalMs, log)
    files.#current = await files.#load()
    files.#watch()
    return files
  }

  get empty (): boolean { return this.#paths.ca === undefined && this.#paths.cert === undefined && this.#paths.key === undefined }

  /** The material last read successfully. */
  get current (): TlsMaterial { return this.#current }

  /** Called once new, valid material was loaded. */
  onChange (fn: () => void): void { this.#onChange = fn }

  async #load (): Promise<TlsMaterial> {
    const read = async (p: string | undefined): Promise<Buffer | undefined> => p === undefined ? undefined : await readFile(p)
    const [ca, cert, key] = await Promise.all([read(this.#paths.ca), read(this.#paths.cert), read(this.#paths.key)])
    // Throws on a mismatched or unreadable pair, so a half-replaced pair never replaces a working one.
    createSecureContext({ ca, cert, key })
    return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }
  }

  #watch (): void {
    for (const p of [this.#paths.ca, this.#paths.cert, this.#paths.key]) {
      if (p === undefined) continue
      const listener = (curr: Stats, prev: Stats): void => {
        if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return
        this.#scheduleReload()
      }
      watchFile(p, { interval: this.#intervalMs, persistent: false }, listener)
      this.#watched.push([p, listener])
    }
  }

  #scheduleReload (): void {
    if (this.#closed) return
    clearTimeout(this.#debounce)
    // Renewal tools write cert and key one after the other: wait for the second before reading.
    this.#debounce = setTimeout(() => { void this.#reload() }, Math.min(500, this.#intervalMs))
    this.#debounce.unref()
  }

  async #reload (): Promise<void> {
    let next: TlsMaterial
    try {
      next = await this.#load()
    } catch (err) {
      this.#log.warn({ err: err as Error }, 'cloud TLS files changed but cannot be used yet; keeping the previous ones')
      return
    }
    if (this.#closed || same(next, this.#current)) return
    this.#current = next
    this.#log.info('cloud TLS files changed: reconnecting with the new ones')
    this.#onChange()
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#debounce)
    for (const [p, l] of this.#watched.splice(0)) unwatchFile(p, l)
  }
}

function same (a: TlsMaterial, b: TlsMaterial): boolean {
  const eq = (x?: Buffer, y?: Buffer): boolean => (x === undefined ? y === undefined : y !== undefined && x.equals(y))
  return eq(a.ca, b.ca) && eq(a.cert, b.cert) && eq(a.key, b.key)
}
