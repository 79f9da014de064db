import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

export const SYSTEM_UNIT_DIR = '/etc/systemd/system'
export const DEFAULT_DATA_DIR = '/var/lib/mecha'

export interface ServiceOptions {
  /** The command line that starts this runtime (the executable's own path when running as one). */
  exec: string[]
  config?: string
  /** @default '/var/lib/mecha' */
  dataDir?: string
  /** The service's user, created with `useradd --system` if missing; 'root' runs it as root. @default 'mecha' */
  user?: string
  /** Supplementary groups that own serial and GPIO devices; those that do not exist are left out. @default ['dialout', 'gpio'] */
  groups?: readonly string[]
  /** systemd restarts the runtime when it misses its pings this long. @default 30 */
  watchdogSec?: number
  /** @default 65536 */
  limitNofile?: number
}

/** What the plan needs to know about the system (read-only probes; tests pass their own). */
export interface SystemProbe {
  userExists: (name: string) => Promise<boolean>
  groupExists: (name: string) => Promise<boolean>
}

export type Step =
  | { readonly do: 'write'; readonly path: string; readonly content: string; readonly mode: number }
  | { readonly do: 'mkdir'; readonly path: string; readonly mode: number }
  | { readonly do: 'remove'; readonly path: string }
  /** `mayFail`: a failure is reported and the plan goes on (disabling a unit that is not loaded). */
  | { readonly do: 'run'; readonly argv: readonly string[]; readonly mayFail?: boolean }

const quote = (a: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, '\\$1')}"`)

/**
 * The systemd unit. `Type=notify` + `WatchdogSec=`: the runtime reports READY=1 once it serves and WATCHDOG=1
 * every half period (core/supervisor/watchdog.ts, through `systemd-notify`, hence `NotifyAccess=all`); a hung
 * runtime is killed and, with `Restart=always` and no start limit, started again however often it fails.
 * `KillMode=mixed`: SIGTERM to the runtime (which stops its apps' process trees itself), SIGKILL to whatever
 * of the unit's cgroup is left at the stop timeout.
 */
export function serviceUnit (opts: ServiceOptions, groups: readonly string[] = opts.groups ?? ['dialout', 'gpio']): string {
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR
  const user = opts.user ?? 'mecha'
  const args = [...opts.exec, 'run', '--data-dir', dataDir]
  if (opts.config !== undefined) args.push('--config', resolve(opts.config))
  return [
    '[Unit]',
    'Description=Mecha edge runtime (MQTT broker, Dapr API, cloud sync)',
    'Wants=network-online.target',
    'After=network-online.target',
    // A gateway has no operator to reset a start limit: keep restarting.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=notify',
    'NotifyAccess=all',
    `ExecStart=${args.map(quote).join(' ')}`,
    `WorkingDirectory=${dataDir}`,
    ...(dataDir === DEFAULT_DATA_DIR ? ['StateDirectory=mecha', 'StateDirectoryMode=0750'] : []),
    ...(user === 'root' ? [] : [`User=${user}`, `Group=${user}`]),
    ...(groups.length === 0 ? [] : [`SupplementaryGroups=${groups.join(' ')}`]),
    'Restart=always',
    'RestartSec=2',
    `WatchdogSec=${opts.watchdogSec ?? 30}`,
    'TimeoutStartSec=90',
    'TimeoutStopSec=15',
    'KillMode=mixed',
    `LimitNOFILE=${opts.limitNofile ?? 65536}`,
    'Environment=NODE_ENV=production',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
}

/**
 * Everything `mecha service install` does, in order. With a unit dir other than /etc/systemd/system (the
 * MECHA_SYSTEMD_DIR staging root) only the files are written: systemctl would not find the unit there.
 */
export async function installPlan (opts: ServiceOptions, probe: SystemProbe, unitDir = SYSTEM_UNIT_DIR): Promise<Step[]> {
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR
  const user = opts.user ?? 'mecha'
  const system = unitDir === SYSTEM_UNIT_DIR
  const groups: string[] = []
  for (const g of opts.groups ?? ['dialout', 'gpio']) if (await probe.groupExists(g)) groups.push(g)
  const steps: Step[] = []
  if (system && user !== 'root' && !await probe.userExists(user)) {
    steps.push({ do: 'run', argv: ['useradd', '--system', '--user-group', '--home-dir', dataDir, '--no-create-home', '--shell', '/usr/sbin/nologin', user] })
  }
  steps.push({ do: 'mkdir', path: dataDir, mode: 0o750 })
  if (system && user !== 'root') steps.push({ do: 'run', argv: ['chown', `${user}:${user}`, dataDir] })
  steps.push({ do: 'write', path: join(unitDir, 'mecha.service'), content: serviceUnit(opts, groups), mode: 0o644 })
  if (system) steps.push({ do: 'run', argv: ['systemctl', 'daemon-reload'] }, { do: 'run', argv: ['systemctl', 'enable', '--now', 'mecha'] })
  return steps
}

/** `mecha service uninstall`: stop, disable, remove the unit; the data dir (and the user) stay. */
export function uninstallPlan (unitDir = SYSTEM_UNIT_DIR): Step[] {
  const system = unitDir === SYSTEM_UNIT_DIR
  return [
    ...(system ? [{ do: 'run', argv: ['systemctl', 'disable', '--now', 'mecha'], mayFail: true } as const] : []),
    { do: 'remove', path: join(unitDir, 'mecha.service') },
    ...(system ? [{ do: 'run', argv: ['systemctl', 'daemon-reload'] } as const] : []),
  ]
}

/** One line per step; a file's whole content below its line (what --dry-run prints). */
export function describeStep (s: Step): string {
  switch (s.do) {
    case 'write': return `write ${s.path} (mode ${s.mode.toString(8)}):\n${s.content.replace(/^(?=.)/gm, '    ').trimEnd()}`
    case 'mkdir': return `mkdir -p -m ${s.mode.toString(8)} ${s.path}`
    case 'remove': return `rm -f ${s.path}`
    case 'run': return `run ${s.argv.map(quote).join(' ')}`
  }
}

const execArgv = (argv: readonly string[]): Promise<void> => new Promise((resolve, reject) => {
  execFile(argv[0], argv.slice(1), { timeout: 120_000 }, (err, _stdout, stderr) => {
    if (err === null) resolve(); else reject(new Error(`${argv.join(' ')}: ${stderr.trim() || err.message}`))
  })
})

export interface Executor {
  run: (argv: readonly string[]) => Promise<void>
}

/** Carries the plan out, step by step; stops at the first failing step (unless it may fail). */
export async function executePlan (steps: readonly Step[], out: (line: string) => void, exec: Executor = { run: execArgv }): Promise<void> {
  for (const s of steps) {
    switch (s.do) {
      case 'write':
        await writeFile(s.path, s.content, { mode: s.mode })
        out(`wrote ${s.path}`)
        break
      case 'mkdir':
        await mkdir(s.path, { recursive: true, mode: s.mode })
        out(`data dir ${s.path}`)
        break
      case 'remove':
        await rm(s.path, { force: true })
        out(`removed ${s.path}`)
        break
      case 'run':
        try {
          await exec.run(s.argv)
          out(`ran ${s.argv.join(' ')}`)
        } catch (err) {
          if (s.mayFail !== true) throw err
          out(`(ignored) ${(err as Error).message}`)
        }
    }
  }
}

async function getent (db: 'passwd' | 'group', name: string): Promise<boolean> {
  try { await execArgv(['getent', db, name]); return true } catch { return false }
}

export const systemProbe: SystemProbe = {
  userExists: async (name) => await getent('passwd', name),
  groupExists: async (name) => await getent('group', name),
}

export interface ServiceCommand {
  sub: 'install' | 'uninstall'
  options: ServiceOptions
  dryRun: boolean
  env?: NodeJS.ProcessEnv
  out: (line: string) => void
  probe?: SystemProbe
  exec?: Executor
}

/** `mecha service install|uninstall [--dry-run]`; resolves to the exit code. */
export async function serviceCommand (c: ServiceCommand): Promise<number> {
  const env = c.env ?? process.env
  const unitDir = env.MECHA_SYSTEMD_DIR ?? SYSTEM_UNIT_DIR
  const steps = c.sub === 'install' ? await installPlan(c.options, c.probe ?? systemProbe, unitDir) : uninstallPlan(unitDir)
  if (c.dryRun) {
    c.out(`# mecha service ${c.sub} --dry-run: nothing is changed; these are the steps`)
    for (const s of steps) c.out(describeStep(s))
    return 0
  }
  if (unitDir === SYSTEM_UNIT_DIR && typeof process.getuid === 'function' && process.getuid() !== 0) {
    c.out(`mecha service ${c.sub} needs root: run it with sudo (or --dry-run to see what it would do)`)
    return 1
  }
  await executePlan(steps, c.out, c.exec)
  if (unitDir !== SYSTEM_UNIT_DIR) c.out(`next: systemctl daemon-reload && systemctl ${c.sub === 'install' ? 'enable --now' : 'disable --now'} mecha`)
  if (c.sub === 'uninstall') c.out(`data dir ${c.options.dataDir ?? DEFAULT_DATA_DIR} kept`)
  return 0
}
