/**
 * Structured logs: one JSON object per line (for journald and log shippers), or a short coloured line when
 * stderr is a TTY. The interface is pino's subset that fastify needs, so the API server logs through us.
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

const LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }
const COLORS: Record<string, string> = { trace: '90', debug: '36', info: '32', warn: '33', error: '31', fatal: '35' }

export interface LoggerOptions {
  /** @default 'info' */
  level?: LogLevel
  /** @default process.stderr.isTTY */
  pretty?: boolean
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void
}

type LogFn = (objOrMsg: unknown, msg?: string, ...rest: unknown[]) => void

export interface Logger {
  level: LogLevel
  fatal: LogFn
  error: LogFn
  warn: LogFn
  info: LogFn
  debug: LogFn
  trace: LogFn
  silent: LogFn
  child(bindings: Record<string, unknown>): Logger
  isLevelEnabled(level: LogLevel): boolean
}

export function createLogger (opts: LoggerOptions = {}, bindings: Record<string, unknown> = {}, shared?: { level: LogLevel }): Logger {
  const pretty = opts.pretty ?? process.stderr.isTTY === true
  const write = opts.write ?? ((line: string) => { process.stderr.write(line + '\n') })
  // Children share their root's level: a hot reload that changes log.level reaches every part's logger.
  const state = shared ?? { level: opts.level ?? 'info' }
  const emit = (level: Exclude<LogLevel, 'silent'>) => (objOrMsg: unknown, msg?: string): void => {
    if (LEVELS[level] < LEVELS[state.level]) return
    let fields: Record<string, unknown> = {}
    let text = msg
    if (typeof objOrMsg === 'string') text = objOrMsg
    else if (objOrMsg instanceof Error) fields = { err: serializeError(objOrMsg) }
    else if (objOrMsg !== null && typeof objOrMsg === 'object') fields = normalize(objOrMsg as Record<string, unknown>)
    const record = { level, time: new Date().toISOString(), ...bindings, ...fields, msg: text }
    write(pretty ? prettyLine(record) : safeStringify(record))
  }
  const logger: Logger = {
    get level () { return state.level },
    set level (l: LogLevel) { state.level = l },
    fatal: emit('fatal'),
    error: emit('error'),
    warn: emit('warn'),
    info: emit('info'),
    debug: emit('debug'),
    trace: emit('trace'),
    silent: () => {},
    child: (more) => {
      const child = createLogger({ ...opts, pretty, write }, { ...bindings, ...more }, state)
      return child
    },
    isLevelEnabled: (l) => LEVELS[l] >= LEVELS[state.level],
  }
  return logger
}

function normalize (obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? serializeError(v) : v
  return out
}

export function serializeError (err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message }
  const code = (err as { code?: unknown }).code
  if (code !== undefined) out.code = code
  if (err.stack !== undefined) out.stack = err.stack
  if (err.cause instanceof Error) out.cause = serializeError(err.cause)
  return out
}

function safeStringify (value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  } catch {
    return JSON.stringify({ level: 'error', msg: 'unserializable log record' })
  }
}

function prettyLine (record: Record<string, unknown>): string {
  const { level, time, msg, ...rest } = record
  const extra = Object.keys(rest).length > 0 ? ' ' + safeStringify(rest) : ''
  return `${String(time).slice(11, 23)} \x1b[${COLORS[String(level)] ?? '0'}m${String(level).toUpperCase().padEnd(5)}\x1b[0m ${msg ?? ''}${extra}`
}
