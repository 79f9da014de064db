import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { executePlan, installPlan, serviceCommand, serviceUnit, uninstallPlan, type SystemProbe } from '../../edge/cli/service.ts'
import { ROOT } from '../helpers/runtime.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'

const exec = promisify(execFile)
test.after(cleanupTmp)

const probe = (users: string[], groups: string[]): SystemProbe => ({
  userExists: async (n) => users.includes(n),
  groupExists: async (n) => groups.includes(n),
})
const opts = { exec: ['/usr/local/bin/mecha'] }

test('service - the unit has every directive: notify + watchdog, restart always, limits, data dir, user and device groups', () => {
  const unit = serviceUnit(opts, ['dialout', 'gpio'])
  for (const line of [
    'Type=notify', 'NotifyAccess=all', 'WatchdogSec=30', 'Restart=always', 'RestartSec=2', 'StartLimitIntervalSec=0',
    'LimitNOFILE=65536', 'WorkingDirectory=/var/lib/mecha', 'StateDirectory=mecha', 'User=mecha', 'Group=mecha',
    'SupplementaryGroups=dialout gpio', 'KillMode=mixed', 'After=network-online.target', 'WantedBy=multi-user.target',
    'ExecStart=/usr/local/bin/mecha run --data-dir /var/lib/mecha',
  ]) assert.ok(unit.split('\n').includes(line), line)
  const custom = serviceUnit({ ...opts, dataDir: '/srv/m', user: 'root', watchdogSec: 60, limitNofile: 4096, config: '/etc/mecha/mecha.yaml' }, [])
  assert.ok(custom.includes('ExecStart=/usr/local/bin/mecha run --data-dir /srv/m --config /etc/mecha/mecha.yaml'))
  assert.ok(custom.includes('WatchdogSec=60') && custom.includes('LimitNOFILE=4096') && custom.includes('WorkingDirectory=/srv/m'))
  assert.not.ok(/^(User|Group|SupplementaryGroups|StateDirectory)=/m.test(custom), 'root, no groups, own data dir')
})

test('service - install creates the user if missing, leaves out groups that do not exist, then reloads and enables', async () => {
  const steps = await installPlan(opts, probe([], ['dialout']))
  assert.equal(steps.map((s) => s.do === 'run' ? s.argv.join(' ') : `${s.do} ${s.path}`), [
    'useradd --system --user-group --home-dir /var/lib/mecha --no-create-home --shell /usr/sbin/nologin mecha',
    'mkdir /var/lib/mecha',
    'chown mecha:mecha /var/lib/mecha',
    'write /etc/systemd/system/mecha.service',
    'systemctl daemon-reload',
    'systemctl enable --now mecha',
  ])
  const unit = steps.find((s) => s.do === 'write')
  assert.ok(unit?.do === 'write' && unit.content.includes('SupplementaryGroups=dialout\n'))
  const existing = await installPlan(opts, probe(['mecha'], []))
  assert.not.ok(existing.some((s) => s.do === 'run' && s.argv[0] === 'useradd'), 'an existing user is kept')
  const w = existing.find((s) => s.do === 'write')
  assert.ok(w?.do === 'write' && !w.content.includes('SupplementaryGroups'), 'no group exists: none listed (systemd would refuse to start)')
  assert.equal(uninstallPlan().map((s) => s.do === 'run' ? s.argv.join(' ') : `${s.do} ${s.path}`), [
    'systemctl disable --now mecha', 'remove /etc/systemd/system/mecha.service', 'systemctl daemon-reload',
  ])
})

test('service - --dry-run prints every file and command and changes nothing', async () => {
  const lines: string[] = []
  const ran: string[] = []
  const code = await serviceCommand({ sub: 'install', options: opts, dryRun: true, env: {}, out: (l) => { lines.push(l) }, probe: probe([], ['dialout', 'gpio']), exec: { run: async (a) => { ran.push(a.join(' ')) } } })
  assert.is(code, 0)
  assert.equal(ran, [], 'nothing run')
  const text = lines.join('\n')
  for (const want of ['run useradd --system', 'mkdir -p -m 750 /var/lib/mecha', 'run chown mecha:mecha /var/lib/mecha', 'write /etc/systemd/system/mecha.service (mode 644):', '    Type=notify', '    WatchdogSec=30', '    SupplementaryGroups=dialout gpio', 'run systemctl daemon-reload', 'run systemctl enable --now mecha']) {
    assert.ok(text.includes(want), want)
  }
  const un: string[] = []
  await serviceCommand({ sub: 'uninstall', options: opts, dryRun: true, env: {}, out: (l) => { un.push(l) }, exec: { run: async (a) => { ran.push(a.join(' ')) } } })
  assert.equal(un.slice(1), ['run systemctl disable --now mecha', 'rm -f /etc/systemd/system/mecha.service', 'run systemctl daemon-reload'])
  assert.equal(ran, [])
})

test('service - the CLI: install --dry-run and uninstall --dry-run through mecha itself', async () => {
  const r = await exec(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), 'service', 'install', '--dry-run', '--data-dir', '/srv/mecha-test'], { cwd: ROOT, timeout: 60_000 })
  assert.match(r.stdout, /ExecStart=\S+ .*run --data-dir \/srv\/mecha-test/)
  assert.match(r.stdout, 'Type=notify')
  assert.not.ok(existsSync('/srv/mecha-test'), 'nothing created')
  const u = await exec(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), 'service', 'uninstall', '--dry-run'], { cwd: ROOT, timeout: 60_000 })
  assert.match(u.stdout, 'run systemctl disable --now mecha')
})

test('service - a staging unit dir (MECHA_SYSTEMD_DIR) gets the files only; uninstall removes the unit and keeps the data dir', async () => {
  const unitDir = await tmpDir('unit')
  const data = await tmpDir('unitdata')
  const ran: string[] = []
  const out: string[] = []
  const run = { run: async (a: readonly string[]) => { ran.push(a.join(' ')) } }
  await serviceCommand({ sub: 'install', options: { ...opts, dataDir: data }, dryRun: false, env: { MECHA_SYSTEMD_DIR: unitDir }, out: (l) => { out.push(l) }, probe: probe([], []), exec: run })
  assert.match(await readFile(join(unitDir, 'mecha.service'), 'utf8'), `--data-dir ${data}`)
  assert.equal(ran, [], 'no systemctl, useradd or chown for a unit systemd cannot see')
  await serviceCommand({ sub: 'uninstall', options: { ...opts, dataDir: data }, dryRun: false, env: { MECHA_SYSTEMD_DIR: unitDir }, out: (l) => { out.push(l) }, exec: run })
  assert.not.ok(existsSync(join(unitDir, 'mecha.service')))
  assert.ok(existsSync(data), 'data dir kept')
  // A failing `systemctl disable` (unit not loaded) does not stop the uninstall.
  const lines: string[] = []
  await executePlan([{ do: 'run', argv: ['false'], mayFail: true }, { do: 'remove', path: join(unitDir, 'gone') }], (l) => { lines.push(l) }, { run: async () => { throw new Error('not loaded') } })
  assert.equal(lines, ['(ignored) not loaded', `removed ${join(unitDir, 'gone')}`])
})

test('service - the unit passes systemd-analyze verify', async () => {
  const which = await exec('sh', ['-c', 'command -v systemd-analyze']).then((r) => r.stdout.trim(), () => '')
  if (which === '') { console.log('skipped: systemd-analyze is not installed (Debian package "systemd")'); return }
  const file = join(await tmpDir('verify'), 'mecha.service')
  // ExecStart must name an executable that exists here.
  await writeFile(file, serviceUnit({ exec: [process.execPath, join(ROOT, 'edge/main.ts')] }, ['dialout']))
  const r = await exec(which, ['verify', file], { timeout: 30_000 }).then((x) => ({ code: 0, err: x.stderr }), (e: { code: number; stderr: string }) => ({ code: e.code, err: e.stderr }))
  assert.is(r.code, 0, r.err)
  assert.not.match(r.err, /mecha\.service:\d+:/, `no warnings about the unit: ${r.err}`)
})

test.run()
