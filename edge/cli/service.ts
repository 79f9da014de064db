import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

export interface ServiceOptions {
  /** The command line that starts this runtime (the executable's own path when running as one). */
  exec: string[]
  config?: string
  /** @default '/var/lib/mecha' */
  dataDir?: string
  user?: string
}

/** A systemd unit: restart always, data under /var/lib/mecha, a stop budget above the runtime's own 5 s. */
export function serviceUnit (opts: ServiceOptions): string {
  const dataDir = opts.dataDir ?? '/var/lib/mecha'
  const args = [...opts.exec, 'run', '--data-dir', dataDir]
  if (opts.config !== undefined) args.push('--config', resolve(opts.config))
  const quote = (a: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, '\\$1')}"`)
  return [
    '[Unit]',
    'Description=Mecha edge runtime (MQTT broker, Dapr API, cloud sync)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${args.map(quote).join(' ')}`,
    `WorkingDirectory=${dataDir}`,
    ...(dataDir === '/var/lib/mecha' ? ['StateDirectory=mecha'] : []),
    ...(opts.user === undefined ? [] : [`User=${opts.user}`]),
    'Restart=always',
    'RestartSec=2',
    'TimeoutStopSec=10',
    'KillMode=mixed',
    'LimitNOFILE=65536',
    'Environment=NODE_ENV=production',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
}

/** Writes the unit (to MECHA_SYSTEMD_DIR or /etc/systemd/system) and the data dir; returns what it did. */
export async function installService (opts: ServiceOptions, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dir = env.MECHA_SYSTEMD_DIR ?? '/etc/systemd/system'
  const unitPath = join(dir, 'mecha.service')
  const dataDir = opts.dataDir ?? '/var/lib/mecha'
  await mkdir(dir, { recursive: true })
  await writeFile(unitPath, serviceUnit(opts), { mode: 0o644 })
  await mkdir(dataDir, { recursive: true, mode: 0o750 })
  return [
    `wrote ${unitPath}`,
    `data dir ${dataDir}`,
    'next: systemctl daemon-reload && systemctl enable --now mecha',
  ]
}
