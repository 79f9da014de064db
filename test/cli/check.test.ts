import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '../helpers/runtime.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { track } from '../helpers/children.ts'

const exec = promisify(execFile)
test.after(cleanupTmp)

async function mecha (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // Bounded: a `run` that wrongly got past its config would otherwise serve until killed.
    const r = await exec(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, MECHA_API_TOKEN: '' }, timeout: 60_000, killSignal: 'SIGKILL' })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

test('mecha check - a config with five mistakes lists all five with their paths, exit 1', async () => {
  const file = join(await tmpDir('check'), 'mecha.yaml')
  await writeFile(file, [
    'id: gw-01',
    'mqtt:',
    '  port: 99999            # 1: out of range',
    '  host: 0.0.0.0          # 2: a LAN listener without users',
    'api:',
    '  prot: 3500             # 3: a typo',
    'cloud:',
    '  url: mqtts://cloud.example:8883',
    'components:',
    '  - apiVersion: dapr.io/v1alpha1',
    '    kind: Component',
    '    metadata: { name: cache }',
    '    spec: { type: state.redis, version: v1 }   # 4: not a type we have',
    'apps:',
    '  - { id: thermo, command: python3, restart: sometimes }  # 5: bad enum',
    '',
  ].join('\n'))
  const r = await mecha('check', '--config', file)
  assert.is(r.code, 1)
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('  '))
  assert.is(lines.length, 5, r.stderr)
  assert.match(r.stderr, 'mqtt.port: must be an integer 0-65535')
  assert.match(r.stderr, 'mqtt.users: required when mqtt.host (0.0.0.0) is not loopback')
  assert.match(r.stderr, 'api.prot: unknown key')
  assert.match(r.stderr, 'components[0].spec.type: unknown component type "state.redis" (known: state.level, pubsub.mqtt')
  assert.match(r.stderr, 'apps[0].restart: must be one of always, on-failure, never')
})

test('mecha check - a good config prints one summary line and exits 0; componentsDir documents count', async () => {
  const dir = await tmpDir('check')
  await mkdir(join(dir, 'components'))
  await writeFile(join(dir, 'components', 'probe.yaml'), [
    'apiVersion: dapr.io/v1alpha1', 'kind: Component', 'metadata: { name: temp-probe }',
    'spec: { type: bindings.serial, version: v1, metadata: [ { name: path, value: /dev/ttyUSB0 } ] }', '---',
    'apiVersion: dapr.io/v2alpha1', 'kind: Subscription', 'metadata: { name: temps }',
    'spec: { pubsubname: pubsub, topic: sensors/temp, routes: { default: /temps } }', '',
  ].join('\n'))
  const file = join(dir, 'mecha.yaml')
  await writeFile(file, `id: gw-01\ncomponentsDir: ${join(dir, 'components')}\n`)
  const r = await mecha('check', '--config', file)
  assert.is(r.code, 0, r.stderr)
  assert.equal(r.stdout.trim().split('\n').length, 1)
  assert.match(r.stdout, 'id gw-01, 1 components, 1 subscriptions, 0 apps, cloud off')
})

test('mecha check and mecha run - both refuse the same cloud configs, naming the path (issue 9)', async () => {
  const dir = await tmpDir('check')
  // Every listener on port 0: if `run` ever accepted one of these, it must not clash with anything while it lives.
  const head = ['id: gw-01', 'mqtt: { port: 0 }', 'api: { port: 0 }', 'ui: { port: 0 }', 'metrics: { port: 0 }', 'cloud:', '  url: mqtts://127.0.0.1:1']
  const cases = [
    { name: 'backoff', lines: ['  backoff: { minMs: 5000, maxMs: 1000 }'], problem: 'cloud.backoff.minMs: must be at most cloud.backoff.maxMs (1000), is 5000' },
    { name: 'cert', lines: [`  cert: ${join(dir, 'client.pem')}`], problem: 'cloud.key: is required when cloud.cert is set' },
  ]
  for (const c of cases) {
    const file = join(dir, `${c.name}.yaml`)
    await writeFile(file, [...head, ...c.lines, ''].join('\n'))
    const checked = await mecha('check', '--config', file)
    assert.is(checked.code, 1, `check ${c.name}: ${checked.stdout}${checked.stderr}`)
    assert.match(checked.stderr, `${file}: 1 problem\n  ${c.problem}`)
    const ran = await mecha('run', '--config', file, '--data-dir', await tmpDir('run'))
    assert.is(ran.code, 1, `run ${c.name}: ${ran.stderr}`)
    assert.match(ran.stderr, 'the config has problems')
    assert.match(ran.stderr, `  ${c.problem}`)
    assert.not.match(ran.stderr, 'start failed', 'refused while loading the config, not by a part at start')
  }
})

test('mecha check - unreadable YAML is a clear error, exit 1', async () => {
  const file = join(await tmpDir('check'), 'mecha.yaml')
  await writeFile(file, 'mqtt: [unclosed\n')
  const r = await mecha('check', '--config', file)
  assert.is(r.code, 1)
  assert.match(r.stderr, 'MECHA_ERR_CONFIG_READ')
})

test('mecha version - prints version, node, target and commit; --json too', async () => {
  const r = await mecha('version')
  assert.is(r.code, 0)
  assert.match(r.stdout, /^mecha \d+\.\d+\.\d+ \(node v\d+/)
  const j = JSON.parse((await mecha('version', '--json')).stdout)
  assert.is(j.node, process.version)
  assert.is(j.commit, 'source')
})

test('mecha - an unknown command prints usage and exits 2', async () => {
  const r = await mecha('frobnicate')
  assert.is(r.code, 2)
  assert.match(r.stderr, 'unknown command "frobnicate"')
  assert.match(r.stderr, 'Usage: mecha')
})

test('mecha service install --dry-run prints a systemd unit with Restart=always and /var/lib/mecha', async () => {
  const r = await mecha('service', 'install', '--dry-run')
  assert.is(r.code, 0)
  assert.match(r.stdout, 'Restart=always')
  assert.match(r.stdout, /ExecStart=\S+ .*run --data-dir \/var\/lib\/mecha/)
  assert.match(r.stdout, 'WantedBy=multi-user.target')
})

test('mecha service install writes the unit where MECHA_SYSTEMD_DIR says and reports it', async () => {
  const dir = await tmpDir('unit')
  const data = await tmpDir('unitdata')
  const r = await exec(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), 'service', 'install', '--data-dir', data], { cwd: ROOT, env: { ...process.env, MECHA_SYSTEMD_DIR: dir } })
  assert.match(r.stdout, `wrote ${join(dir, 'mecha.service')}`)
  const unit = await import('node:fs/promises').then((fs) => fs.readFile(join(dir, 'mecha.service'), 'utf8'))
  assert.match(unit, `--data-dir ${data}`)
})

test('mecha passwd --print reads the password from stdin and prints a scrypt hash that verifies', async () => {
  const { spawn } = await import('node:child_process')
  const child = track(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), 'passwd', '--print'], { cwd: ROOT }), 'mecha passwd --print')
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stdin.end('correct horse battery\n')
  const code = await new Promise((resolve) => child.on('exit', resolve))
  assert.is(code, 0)
  const { verifyPassword } = await import('../../core/passwords.ts')
  assert.ok(await verifyPassword('correct horse battery', out.trim()))
  assert.not.ok(await verifyPassword('wrong', out.trim()))
})

test('mecha passwd writes the hash into the data dir the config names', async () => {
  const { spawn } = await import('node:child_process')
  const dir = await tmpDir('pw')
  const file = join(dir, 'mecha.yaml')
  await writeFile(file, `dataDir: ${join(dir, 'gw-data')}\n`)
  const child = track(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'edge/main.ts'), 'passwd', '--config', file], { cwd: ROOT, env: { ...process.env, MECHA_DATA_DIR: '' } }), 'mecha passwd')
  child.stdin.end('correct horse battery\n')
  const code = await new Promise((resolve) => child.on('exit', resolve))
  assert.is(code, 0)
  const { readFile } = await import('node:fs/promises')
  const { verifyPassword } = await import('../../core/passwords.ts')
  assert.ok(await verifyPassword('correct horse battery', (await readFile(join(dir, 'gw-data', 'ui-admin.hash'), 'utf8')).trim()))
})

test.run()
