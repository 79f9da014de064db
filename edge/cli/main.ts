import { resolve } from 'node:path'
import { isNativeAccelerationEnabled } from 'cbor-x'
import { loadConfig } from '../../core/config/index.ts'
import { MechaError, isMechaError } from '../../core/errors.ts'
import { createLogger } from '../../core/logger.ts'
import { hashPassword } from '../../core/passwords.ts'
import { Runtime, componentCatalog } from '../runtime.ts'
import { watchConfigFile } from '../reload/config-file.ts'
import { isSea, loadedAddons } from '../native/index.ts'
import { listSerialPorts } from '../../devices/index.ts'
import { BUILD, VERSION } from '../version.ts'
import { USAGE, parseCli, type Cli } from './args.ts'
import { readPassword, writeAdminHash } from './passwd.ts'
import { serviceCommand } from './service.ts'
import { applyHeapLimit, planHeapLimit } from './heap-limit.ts'

type Out = (line: string) => void
const out: Out = (line) => { process.stdout.write(line + '\n') }
const err: Out = (line) => { process.stderr.write(line + '\n') }

/** The CLI shared by `npm start`, `npx mecha` and the single executable. Resolves to the exit code. */
export async function main (argv: string[]): Promise<number> {
  let cli: Cli
  try { cli = parseCli(argv) } catch (e) {
    err(`mecha: ${(e as Error).message}\n\n${USAGE}`)
    return 2
  }
  try {
    switch (cli.command) {
      case 'help': out(USAGE); return 0
      case 'version': return version(cli)
      case 'check': return await check(cli)
      case 'passwd': return await passwd(cli)
      case 'service': return await service(cli)
      case 'run': return await run(cli)
      case 'devices': return await devices(cli)
    }
  } catch (e) {
    reportError(e)
    return 1
  }
}

function reportError (e: unknown): void {
  if (isMechaError(e)) err(`mecha: ${e.code}: ${e.message}`)
  else err(`mecha: ${(e as Error)?.stack ?? String(e)}`)
}

function version (cli: Cli): number {
  const info = { version: VERSION, node: process.version, target: BUILD.target, commit: BUILD.commit, builtAt: BUILD.builtAt, cborNative: isNativeAccelerationEnabled }
  if (cli.json) out(JSON.stringify(info))
  else out(`mecha ${info.version} (node ${info.node}, ${info.target}, commit ${info.commit}${info.cborNative ? '' : ', cbor without native extractor'})`)
  return 0
}

async function check (cli: Cli): Promise<number> {
  try {
    const { config, file, warnings } = await loadConfig({ file: cli.config, overrides: { dataDir: cli.dataDir }, components: componentCatalog })
    for (const w of warnings) err(`warning: ${w}`)
    out(`ok: ${file ?? '(defaults)'}: id ${config.id}, ${config.components.length} components, ${config.subscriptions.length} subscriptions, ${config.apps.length} apps, cloud ${config.cloud?.url ?? 'off'}`)
    return 0
  } catch (e) {
    if (isMechaError(e, 'MECHA_ERR_CONFIG_INVALID')) {
      const problems = e.details as Array<{ path: string; message: string }>
      err(`${cli.config ?? 'config'}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`)
      for (const p of problems) err(`  ${p.path}: ${p.message}`)
      return 1
    }
    throw e
  }
}

async function devices (cli: Cli): Promise<number> {
  let serial: Awaited<ReturnType<typeof listSerialPorts>> = []
  let error: string | undefined
  try { serial = await listSerialPorts() } catch (e) { error = (e as Error).message }
  if (cli.json) {
    out(JSON.stringify({ serial, ...(error === undefined ? {} : { error }), addons: loadedAddons() }))
  } else {
    if (error !== undefined) err(`serial ports cannot be listed: ${error}`)
    if (serial.length === 0) out('no serial ports found')
    for (const p of serial) out([p.path, p.manufacturer, p.vendorId === undefined ? undefined : `${p.vendorId}:${p.productId ?? ''}`].filter(Boolean).join('  '))
  }
  return error === undefined ? 0 : 1
}

async function passwd (cli: Cli): Promise<number> {
  const password = await readPassword()
  if (password.length < 8) throw new MechaError('MECHA_ERR_UI_AUTH', 'the password must have at least 8 characters')
  const hash = await hashPassword(password)
  if (cli.print) { out(hash); return 0 }
  // The data dir the runtime will use: the config file's, then MECHA_DATA_DIR, then --data-dir.
  const dataDir = resolve((await loadConfig({ file: cli.config, overrides: { dataDir: cli.dataDir }, components: componentCatalog })).config.dataDir)
  const path = await writeAdminHash(dataDir, hash)
  out(`UI admin password set (${path})`)
  return 0
}

/** The command line that starts this very runtime again: the executable itself, or node with our entry. */
function selfExec (): string[] {
  if (isSea()) return [process.execPath]
  return [process.execPath, ...process.execArgv, resolve(process.argv[1])]
}

/** `mecha service install|uninstall [--dry-run] [--config FILE] [--data-dir DIR] [--user USER]` */
async function service (cli: Cli): Promise<number> {
  const options = { exec: selfExec(), config: cli.config, dataDir: cli.dataDir === undefined ? undefined : resolve(cli.dataDir), user: cli.user }
  return await serviceCommand({ sub: cli.sub === 'uninstall' ? 'uninstall' : 'install', options, dryRun: cli.dryRun, out })
}

async function run (cli: Cli): Promise<number> {
  let loaded
  try {
    loaded = await loadConfig({ file: cli.config, overrides: { dataDir: cli.dataDir }, components: componentCatalog })
  } catch (e) {
    if (isMechaError(e, 'MECHA_ERR_CONFIG_INVALID')) {
      err(`mecha: the config has problems (run \`mecha check\` to list them again):`)
      for (const p of e.details as Array<{ path: string; message: string }>) err(`  ${p.path}: ${p.message}`)
      return 1
    }
    throw e
  }
  const { config } = loaded
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty })
  // memory.maxHeapMiB: before anything opens (the store's lock, listeners), re-executes in place once with
  // the heap limit; does not return when it does.
  const heap = applyHeapLimit(planHeapLimit(config.memory.maxHeapMiB, process.env, process.execArgv), [...selfExec(), ...process.argv.slice(2)])
  if (heap !== undefined) log[heap.level](heap.msg)
  for (const w of loaded.warnings) log.warn(w)
  if (loaded.env.length > 0) log.info({ env: loaded.env }, 'environment overrides applied')

  let stopRequested: (() => void) | undefined
  const stopped = new Promise<void>((resolve) => { stopRequested = resolve })
  let runtime: Runtime | undefined
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++
    if (signals > 1) { log.warn({ signal }, 'second signal: exiting now'); process.exit(130) }
    log.info({ signal }, 'stopping')
    stopRequested?.()
  }
  // SIGHUP (systemctl reload, log rotation) reloads the config; it must never end the runtime (Node's default).
  const reload = (why: string): void => {
    if (runtime === undefined || runtime.phase !== 'running') { log.warn({ why }, 'reload ignored: the runtime is not running yet'); return }
    void runtime.reloadFromFile(why)
  }
  const onHup = (): void => { reload('SIGHUP') }
  process.on('SIGHUP', onHup)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    runtime = await Runtime.start({ config, log, onShutdownRequest: () => stopRequested?.(), configFile: loaded.file, overrides: { dataDir: cli.dataDir } })
  } catch (e) {
    process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); process.off('SIGHUP', onHup)
    log.fatal(e as Error, 'start failed')
    reportError(e)
    return 1
  }
  if (signals > 0) stopRequested?.()
  const unwatch = loaded.file === undefined ? () => {} : watchConfigFile(loaded.file, () => { reload('config file changed') })
  await stopped
  unwatch()
  const t0 = Date.now()
  let code = 0
  try { await runtime.stop() } catch (e) { log.error(e as Error, 'stop incomplete'); code = 1 }
  log.info({ ms: Date.now() - t0 }, 'stopped')
  process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); process.off('SIGHUP', onHup)
  return code
}
