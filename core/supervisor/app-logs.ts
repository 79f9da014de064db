import { PushIterator } from '../push-iterator.ts'
import { mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import type { Readable } from 'node:stream'
import type { Clock } from '../clock.ts'

/** One line an app wrote (or the supervisor wrote about it), as kept in its log file. */
export interface LogLine {
  /** ms since the epoch */
  readonly ts: number
  readonly stream: 'stdout' | 'stderr' | 'supervisor'
  readonly line: string
}

export interface AppLogOptions {
  /** `<dataDir>/logs/<appId>.log`; absent: the last `memoryLines` lines are kept in memory only. */
  file?: string
  maxBytes: number
  /** Rotated files kept beside the current one (`.1` newest … `.{files}` oldest). */
  files: number
  clock: Clock
  /** @default 1000 */
  memoryLines?: number
}

/** Longer lines are cut (and the rest logged as further lines), so one runaway write cannot hold memory. */
export const MAX_LINE_CHARS = 16 * 1024
const FOLLOW_BUFFER = 1000

/**
 * An app's log: lines with timestamps appended to a size-rotated file set bounded at
 * `maxBytes × (files + 1)`, readable from the end (`tail`) and followable (`follow`, `onLine`).
 * Writes are queued and batched on one file handle; `tail` waits for the queue so it sees every line.
 */
export class AppLog {
  #o: AppLogOptions
  readonly #memory: LogLine[] = []
  readonly #listeners = new Set<(l: LogLine) => void>()
  readonly #ends = new Set<() => void>()
  #pending: string[] = []
  #chain: Promise<void> = Promise.resolve()
  #fh: FileHandle | undefined
  #size = 0
  #closed = false

  constructor (o: AppLogOptions) { this.#o = o }

  /** New limits (the app's config changed); they apply from the next write. */
  setLimits (maxBytes: number, files: number): void { this.#o = { ...this.#o, maxBytes, files } }

  write (stream: LogLine['stream'], text: string): void {
    if (this.#closed) return
    const line: LogLine = { ts: this.#o.clock.now(), stream, line: text.length > MAX_LINE_CHARS ? text.slice(0, MAX_LINE_CHARS) : text }
    for (const l of [...this.#listeners]) { try { l(line) } catch { /* a follower's bug stays its own */ } }
    if (this.#o.file === undefined) {
      this.#memory.push(line)
      if (this.#memory.length > (this.#o.memoryLines ?? 1000)) this.#memory.shift()
      return
    }
    this.#pending.push(format(line))
    if (this.#pending.length === 1) this.#chain = this.#chain.then(() => this.#drain()).catch(() => { /* disk full: lines are lost, the app is not */ })
  }

  /** Splits a child's stream into lines (UTF-8 safe, long lines cut) and writes each. */
  capture (stream: Readable, name: 'stdout' | 'stderr', also?: (line: string) => void): void {
    const decoder = new StringDecoder('utf8')
    let partial = ''
    const emit = (l: string): void => { const line = l.endsWith('\r') ? l.slice(0, -1) : l; this.write(name, line); also?.(line) }
    stream.on('data', (chunk: Buffer) => {
      partial += decoder.write(chunk)
      let nl: number
      while ((nl = partial.indexOf('\n')) >= 0) { emit(partial.slice(0, nl)); partial = partial.slice(nl + 1) }
      while (partial.length > MAX_LINE_CHARS) { emit(partial.slice(0, MAX_LINE_CHARS)); partial = partial.slice(MAX_LINE_CHARS) }
    })
    stream.on('end', () => { partial += decoder.end(); if (partial !== '') emit(partial); partial = '' })
    stream.on('error', () => { /* the exit is reported elsewhere */ })
  }

  async #drain (): Promise<void> {
    const lines = this.#pending
    this.#pending = []
    const file = this.#o.file!
    if (this.#fh === undefined) {
      await mkdir(dirname(file), { recursive: true })
      this.#fh = await open(file, 'a', 0o640)
      this.#size = (await this.#fh.stat()).size
    }
    let batch = ''
    let batchBytes = 0
    for (const raw of lines) {
      // A line alone above the file limit is cut so the bound holds.
      const text = Buffer.byteLength(raw) > this.#o.maxBytes ? Buffer.from(raw).subarray(0, this.#o.maxBytes - 1).toString('utf8').replace(/\uFFFD$/, '') + '\n' : raw
      const bytes = Buffer.byteLength(text)
      if (this.#size + batchBytes + bytes > this.#o.maxBytes && this.#size + batchBytes > 0) {
        if (batch !== '') await this.#fh!.write(batch)
        batch = ''; batchBytes = 0
        await this.#rotate()
      }
      batch += text
      batchBytes += bytes
    }
    if (batch !== '') await this.#fh!.write(batch)
    this.#size += batchBytes
  }

  async #rotate (): Promise<void> {
    const file = this.#o.file!
    await this.#fh?.close()
    this.#fh = undefined
    const n = this.#o.files
    await rm(`${file}.${n + 1}`, { force: true }) // left by a larger `files` before a reconfigure
    if (n === 0) await rm(file, { force: true })
    else {
      for (let i = n - 1; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {})
      await rename(file, `${file}.1`)
    }
    this.#fh = await open(file, 'a', 0o640)
    this.#size = 0
  }

  /** Resolves once every line written so far is in the file. */
  async flush (): Promise<void> {
    while (this.#pending.length > 0) await this.#chain
    await this.#chain
  }

  /** The last `n` lines, oldest first (from the files, so lines written before a restart of the runtime too). */
  async tail (n: number): Promise<LogLine[]> {
    if (!(n > 0)) return []
    if (this.#o.file === undefined) return this.#memory.slice(-n)
    await this.flush()
    const out: LogLine[] = []
    for (let i = 0; i <= this.#o.files && out.length < n; i++) {
      const path = i === 0 ? this.#o.file : `${this.#o.file}.${i}`
      let text: string
      try { text = await readFile(path, 'utf8') } catch { if (i === 0) continue; else break }
      const lines = text.split('\n').filter((l) => l !== '')
      out.unshift(...lines.slice(-(n - out.length)).map(parse))
    }
    return out
  }

  /** Calls `fn` on every new line; returns the function that stops it. */
  onLine (fn: (l: LogLine) => void): () => void {
    this.#listeners.add(fn)
    return () => { this.#listeners.delete(fn) }
  }

  /** Every new line as an async iterator; a slow reader loses the oldest lines; ends on `signal` or close. */
  follow (signal?: AbortSignal): AsyncIterableIterator<LogLine> {
    const end = (): void => { it.end() }
    const it = new PushIterator<LogLine>({ max: FOLLOW_BUFFER, onEnd: () => { off(); this.#ends.delete(end); signal?.removeEventListener('abort', end) } })
    const off = this.onLine((l) => { it.push(l) })
    this.#ends.add(end)
    signal?.addEventListener('abort', end, { once: true })
    if (this.#closed || signal?.aborted === true) it.end()
    return it
  }



  /** Idempotent: flushes, closes the file and ends every follower. */
  async close (): Promise<void> {
    if (this.#closed) return
    await this.flush()
    this.#closed = true
    for (const end of [...this.#ends]) end()
    this.#listeners.clear()
    await this.#fh?.close().catch(() => {})
    this.#fh = undefined
  }
}

function format (l: LogLine): string {
  return `${new Date(l.ts).toISOString()} ${l.stream} ${l.line}\n`
}

function parse (text: string): LogLine {
  const a = text.indexOf(' ')
  const b = text.indexOf(' ', a + 1)
  const ts = Date.parse(text.slice(0, a))
  const stream = text.slice(a + 1, b)
  if (a < 0 || b < 0 || Number.isNaN(ts) || !['stdout', 'stderr', 'supervisor'].includes(stream)) return { ts: 0, stream: 'stdout', line: text }
  return { ts, stream: stream as LogLine['stream'], line: text.slice(b + 1) }
}

/** Total bytes of an app's log files (tests and the admin API's disk view). */
export async function logBytes (file: string, files: number): Promise<number> {
  let total = 0
  for (let i = 0; i <= files + 1; i++) total += await stat(i === 0 ? file : `${file}.${i}`).then((s) => s.size, () => 0)
  return total
}
