import type { ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseConfig } from '../../core/config/index.ts'
import { createLogger } from '../../core/logger.ts'
import { Runtime, componentCatalog } from '../../edge/runtime.ts'
import { tmpDir } from './tmp.ts'
import { spawnTracked } from './children.ts'

export const ROOT = join(import.meta.dirname, '../..')

/** Every listener on an ephemeral loopback port, the data dir in a fresh temp dir. */
export async function testConfig (extra: Record<string, any> = {}): Promise<Record<string, any>> {
  const dataDir = extra.dataDir ?? await tmpDir('rt')
  return {
    id: 'test-gw',
    ...extra,
    dataDir,
    log: { level: 'warn', ...(extra.log ?? {}) },
    mqtt: { port: 0, ...(extra.mqtt ?? {}) },
    api: { port: 0, grpcPort: 0, ...(extra.api ?? {}) },
    ui: { port: 0, ...(extra.ui ?? {}) },
    metrics: { port: 0, ...(extra.metrics ?? {}) },
  }
}

/** A runtime in this process. */
export async function startRuntime (extra: Record<string, any> = {}): Promise<Runtime> {
  const { config } = await parseConfig(await testConfig(extra), { components: componentCatalog })
  const lines: string[] = []
  const log = createLogger({ level: config.log.level, pretty: false, write: (l) => { lines.push(l); if (process.env.MECHA_TEST_LOG === '1') process.stderr.write(l + '\n') } })
  return await Runtime.start({ config, log })
}

export interface Spawned {
  proc: ChildProcess
  addresses: Record<string, { host: string; port: number }>
  output: () => string
  /** SIGTERM (or another signal), then wait for the exit; resolves to the exit code and the ms it took. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; ms: number }>
  kill9: () => Promise<void>
  exited: Promise<number | null>
}

export interface SpawnOptions {
  /** The command to run; by default the runtime from source, as `npm start` runs it. */
  command?: string[]
  config?: Record<string, any>
  args?: string[]
  env?: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs?: number
}

/** Runs the runtime as its own process and waits for its "mecha is running" line (JSON log on stderr). */
export async function spawnRuntime (opts: SpawnOptions = {}): Promise<Spawned> {
  const args = [...(opts.args ?? [])]
  if (opts.config !== undefined) {
    const file = join(await tmpDir('cfg'), 'mecha.json')
    await writeFile(file, JSON.stringify(opts.config))
    args.push('--config', file)
  }
  const command = opts.command ?? [process.execPath, '--import', 'tsx', join(ROOT, 'edge/main.ts'), 'run']
  // Tracked: killed with its group when this test process exits, or after the test that left it (children.ts).
  const proc = spawnTracked(command[0], [...command.slice(1), ...args], {
    label: `runtime (${command.slice(-2).join(' ')})`,
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, MECHA_LOG_PRETTY: 'false', MECHA_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a signal reaches the runtime even behind `npm start` (as a terminal's Ctrl-C does).
    detached: true,
  })
  let output = ''
  const exited = new Promise<number | null>((resolve) => { proc.once('close', (code, signal) => { resolve(code ?? (signal === null ? null : -1)) }) })
  const addresses = await new Promise<Spawned['addresses']>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not running after the limit: it is of no use to the caller, who gets no handle to stop it.
      try { process.kill(-proc.pid!, 'SIGKILL') } catch {}
      reject(new Error(`runtime did not start within ${opts.timeoutMs ?? 20000} ms:\n${output}`))
    }, opts.timeoutMs ?? 20000)
    const onData = (d: Buffer): void => {
      output += d.toString()
      for (const line of output.split('\n')) {
        if (!line.includes('"mecha is running"')) continue
        clearTimeout(timer)
        const rec = JSON.parse(line) as Record<string, string>
        const out: Spawned['addresses'] = {}
        for (const k of ['mqtt', 'api', 'grpc', 'ui', 'metrics']) {
          if (rec[k] === undefined) continue
          const i = rec[k].lastIndexOf(':')
          out[k] = { host: rec[k].slice(0, i), port: Number(rec[k].slice(i + 1)) }
        }
        resolve(out)
        return
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`runtime exited with ${code} before it was running:\n${output}`)) })
  })
  return {
    proc,
    addresses,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      const t0 = Date.now()
      try { process.kill(-proc.pid!, signal) } catch {}
      const code = await exited
      return { code, ms: Date.now() - t0 }
    },
    kill9: async () => {
      try { process.kill(-proc.pid!, 'SIGKILL') } catch {}
      await exited
    },
  }
}
