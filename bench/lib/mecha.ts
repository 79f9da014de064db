/**
 * The runtime as its own process, as a gateway runs it: `dist/mecha-linux-x64` when it is built, else the
 * sources through tsx (`node --import tsx edge/main.ts run`, what `npm start` runs). A temp data dir and a
 * config file whose listeners are on port 0; the ports are read from the "mecha is running" log line.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { startChild, type Child } from './child.ts'

export const ROOT = join(import.meta.dirname, '..', '..')
const EXE = join(ROOT, 'dist', 'mecha-linux-x64')

export function mechaCommand (): { cmd: string[]; what: string } {
  if (process.arch === 'x64' && existsSync(EXE) && process.env.MECHA_BENCH_FROM_SOURCE !== '1') return { cmd: [EXE, 'run'], what: 'dist/mecha-linux-x64' }
  return { cmd: [process.execPath, '--import', 'tsx', join(ROOT, 'edge', 'main.ts'), 'run'], what: 'sources via tsx (npm run build for the executable)' }
}

/**
 * `--profile` (or MECHA_BENCH_PROFILE=1): every runtime this benchmark starts writes a V8 CPU profile into
 * bench/results/profiles/<benchmark>/ when it exits (SIGTERM lets it exit normally; a `kill -9` writes none).
 * Passed through NODE_OPTIONS, which both the sources (node) and the SEA executable honour, and which the
 * heap-limit re-exec inherits. Read them with `node --import tsx bench/lib/profile-summary.ts <dir|file>`.
 */
export const PROFILE = process.argv.includes('--profile') || process.env.MECHA_BENCH_PROFILE === '1'
export const PROFILE_DIR = join(ROOT, 'bench', 'results', 'profiles', process.env.MECHA_BENCH_NAME ?? basename(process.argv[1] ?? 'bench', '.ts'))

function childEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MECHA_LOG_PRETTY: 'false', MECHA_LOG_LEVEL: 'info' }
  if (PROFILE) env.NODE_OPTIONS = [env.NODE_OPTIONS ?? '', '--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`].join(' ').trim()
  return env
}

export type Addresses = Record<string, { host: string; port: number }>

export interface MechaProcess {
  child: Child
  addresses: Addresses
  mqttPort: number
  apiPort: number
  /** The Dapr gRPC API's port, when it is served. */
  grpcPort?: number
  dataDir: string
  /** ms from spawn to the "mecha is running" line. */
  readyMs: number
  /** SIGTERM, SIGKILL after the timeout. */
  stop: () => Promise<void>
  kill9: () => Promise<void>
  /** Starts it again on the same data dir and config (ports are new: they are port 0). */
  restart: () => Promise<MechaProcess>
  /** Stops it and removes its data dir. */
  close: () => Promise<void>
}

/**
 * A config with every listener on an ephemeral loopback port; `extra` merges at the top level. The web UI is
 * off unless `extra.ui` turns it on: only the footprint benchmark measures it (a gateway runs it).
 */
export function benchConfig (extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { mqtt, ...rest } = extra as { mqtt?: Record<string, unknown> }
  return {
    id: 'bench-gw',
    log: { level: 'info', pretty: false },
    mqtt: { port: 0, maxClients: 5000, ...(mqtt ?? {}) },
    api: { port: 0, grpcPort: 0 },
    ui: { port: 0, enabled: false },
    metrics: { port: 0 },
    ...rest,
  }
}

export async function startMecha (extra: Record<string, unknown> = {}, opts: { dataDir?: string; timeoutMs?: number } = {}): Promise<MechaProcess> {
  const dataDir = opts.dataDir ?? await mkdtemp(join(tmpdir(), 'bench-mecha-'))
  const config = join(dataDir, '..', `${dataDir.split('/').pop()!}.json`)
  await writeFile(config, JSON.stringify({ ...benchConfig(extra), dataDir }))
  if (PROFILE) await mkdir(PROFILE_DIR, { recursive: true })
  const { cmd } = mechaCommand()
  const timeoutMs = opts.timeoutMs ?? 60_000
  const t0 = Date.now()
  let buf = ''
  let onReady: ((a: Addresses) => void) | undefined
  const child = startChild('mecha', cmd[0]!, [...cmd.slice(1), '--config', config, '--data-dir', dataDir], {
    cwd: ROOT,
    env: childEnv(),
    onOutput: (s) => {
      if (onReady === undefined) return
      buf = (buf + s).slice(-16384)
      for (const line of buf.split('\n')) {
        if (!line.includes('"mecha is running"')) continue
        const rec = JSON.parse(line) as Record<string, unknown>
        const out: Addresses = {}
        for (const k of ['mqtt', 'api', 'grpc', 'ui', 'metrics']) {
          const v = rec[k]
          if (typeof v !== 'string') continue
          const i = v.lastIndexOf(':')
          out[k] = { host: v.slice(0, i), port: Number(v.slice(i + 1)) }
        }
        const cb = onReady; onReady = undefined; buf = ''
        cb(out)
        return
      }
    },
  })
  let addresses: Addresses
  try {
    addresses = await new Promise<Addresses>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`mecha did not start within ${timeoutMs} ms:\n${child.output()}`)) }, timeoutMs)
      onReady = (a) => { clearTimeout(timer); resolve(a) }
      void child.exited.then((code) => { clearTimeout(timer); reject(new Error(`mecha exited with ${code} before it was running:\n${child.output()}`)) })
    })
  } catch (err) {
    await child.stop(2000)
    throw err
  }
  const readyMs = Date.now() - t0
  const me: MechaProcess = {
    child,
    addresses,
    mqttPort: addresses.mqtt?.port ?? -1,
    apiPort: addresses.api?.port ?? -1,
    grpcPort: addresses.grpc?.port,
    dataDir,
    readyMs,
    stop: async () => { await child.stop(10_000) },
    kill9: async () => { await child.kill9() },
    restart: async () => { await child.stop(10_000); return await startMecha(extra, { ...opts, dataDir }) },
    close: async () => { await child.stop(10_000); await rm(dataDir, { recursive: true, force: true }); await rm(config, { force: true }) },
  }
  return me
}
