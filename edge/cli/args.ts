import { parseArgs } from 'node:util'

export const USAGE = `Usage: mecha <command> [options]

Commands:
  run [--config FILE] [--data-dir DIR]   run the runtime (default command)
  check [--config FILE]                  validate a config: print every problem with its path, exit 1 if any
  version [--json]                       print runtime version, Node version, target and build commit
  passwd [--config FILE] [--data-dir DIR] [--print]
                                         set the UI admin password (or --print a hash for mqtt.users)
  devices [--json]                       list the serial ports this gateway has
  service install [--dry-run] [--config FILE] [--data-dir DIR] [--user USER]
  service uninstall [--dry-run]
                                         write a systemd unit that runs this executable

Environment: MECHA_* overrides config keys (e.g. MECHA_MQTT_PORT, MECHA_API_TOKEN, MECHA_LOG_LEVEL).
`

export interface Cli {
  command: 'run' | 'check' | 'version' | 'passwd' | 'service' | 'devices' | 'help'
  sub?: string
  config?: string
  dataDir?: string
  json: boolean
  dryRun: boolean
  print: boolean
  user?: string
}

/** Parses argv (without node and script); throws a TypeError with a one-line message on bad usage. */
export function parseCli (argv: string[]): Cli {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string', short: 'd' },
      json: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      print: { type: 'boolean', default: false },
      user: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const [cmd = 'run', sub] = positionals
  if (values.help === true || cmd === 'help') return { command: 'help', json: false, dryRun: false, print: false }
  if (!['run', 'check', 'version', 'passwd', 'service', 'devices'].includes(cmd)) throw new TypeError(`unknown command "${cmd}"`)
  if (cmd === 'service' && sub !== 'install' && sub !== 'uninstall') throw new TypeError('usage: mecha service install|uninstall [--dry-run]')
  return {
    command: cmd as Cli['command'],
    sub,
    config: values.config,
    dataDir: values['data-dir'],
    json: values.json === true,
    dryRun: values['dry-run'] === true,
    print: values.print === true,
    user: values.user,
  }
}
