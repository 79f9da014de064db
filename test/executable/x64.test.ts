import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import mqtt from 'mqtt'
import { capture, exePath, freshCopy, runExe, spawnExe, stop, waitHealthy, writeConfig } from './exe.ts'

const made: string[] = []
async function tmp (label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${label}-`))
  made.push(dir)
  return dir
}

/**
 * The cache holds the addons named (all of them when `exactly`), each under its content hash, and nothing else:
 * no temp file of a concurrent start left behind.
 */
async function assertCache (dir: string, addons: string[], exactly = false): Promise<void> {
  const files = (await readdir(dir)).sort()
  for (const f of files) {
    const m = /^([0-9a-f]{16})-(cbor-extract|classic-level|serialport-bindings-cpp)\.node$/.exec(f)
    assert.ok(m !== null, `unexpected ${f} in the native cache`)
    const sha = createHash('sha256').update(await readFile(join(dir, f))).digest('hex')
    assert.is(sha.slice(0, 16), m[1], `${f} is named by its content hash`)
  }
  const names = files.map((f) => f.slice(17, -'.node'.length))
  for (const a of addons) assert.ok(names.includes(a), `${a} in ${files.join(', ')}`)
  if (exactly) assert.is(files.length, addons.length)
}

interface VersionInfo { version: string; node: string; target: string; commit: string; cborNative: boolean }

test.before(async () => {
  assert.ok(existsSync(exePath('x64')), 'dist/mecha-linux-x64 is missing: the build failed (see the setup output above)')
})

test.after(async () => {
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })))
})

test('executable - runs alone with env -i and reports its target, Node and native cbor-x', async () => {
  const { dir, exe } = await freshCopy('x64'); made.push(dir)
  const cwd = await tmp('mecha-cwd')
  const cache = await tmp('mecha-cache')
  const r = await runExe('x64', exe, ['version', '--json'], { cwd, env: { MECHA_NATIVE_CACHE: cache } })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stderr, '', 'nothing on stderr: no ExperimentalWarning, no missing optional module')
  const info = JSON.parse(r.stdout) as VersionInfo
  assert.is(info.target, 'linux-x64')
  assert.is(info.node, 'v24.22.3')
  assert.match(info.version, /^\d+\.\d+\.\d+/)
  assert.not.equal(info.commit, 'source')
  // cbor-x falls back to plain JS silently when cbor-extract does not load: this is the proof that it did.
  assert.is(info.cborNative, true)
  await assertCache(cache, ['cbor-extract'])
  assert.is(existsSync(join(cwd, 'data')), false, 'version touches no data dir')
})

test('executable - three concurrent first starts with an empty native cache all succeed', async () => {
  const { dir, exe } = await freshCopy('x64'); made.push(dir)
  const cache = join(await tmp('mecha-cache'), 'not-yet-there')
  const starts = await Promise.all([1, 2, 3].map(async (n) => {
    const { file, ports } = await writeConfig(join(dir, `etc-${n}`))
    const child = spawnExe('x64', exe, ['run', '--config', file, '--data-dir', join(dir, `data-${n}`)], { cwd: dir, env: { MECHA_NATIVE_CACHE: cache } })
    return { child, ports, out: capture(child) }
  }))
  try {
    await Promise.all(starts.map(async (s) => {
      await waitHealthy(s.ports.api, s.child, 30_000).catch((err: Error) => { throw new Error(`${err.message}\n${s.out.text()}`) })
    }))
  } finally {
    for (const s of starts) assert.is((await stop(s.child, 5000)).code, 0, s.out.text())
  }
  await assertCache(cache, ['cbor-extract', 'classic-level'], true)
})

test('executable - falls back to the OS temp dir when the cache home is unwritable', async () => {
  const { dir, exe } = await freshCopy('x64'); made.push(dir)
  const notADir = join(dir, 'a-file')
  await writeFile(notADir, 'x')
  const temp = await tmp('mecha-tmpdir')
  const r = await runExe('x64', exe, ['version', '--json'], { cwd: dir, env: { XDG_CACHE_HOME: notADir, TMPDIR: temp } })
  assert.is(r.code, 0, r.stderr)
  assert.is((JSON.parse(r.stdout) as VersionInfo).cborNative, true)
  const uid = process.getuid?.() ?? 'user'
  await assertCache(join(temp, `mecha-native-${uid}`), ['cbor-extract'])
})

test('executable - an unusable MECHA_NATIVE_CACHE is an error that names it', async () => {
  const { dir, exe } = await freshCopy('x64'); made.push(dir)
  const notADir = join(dir, 'a-file')
  await writeFile(notADir, 'x')
  const r = await runExe('x64', exe, ['version'], { cwd: dir, env: { MECHA_NATIVE_CACHE: join(notADir, 'cache') } })
  assert.is(r.code, 1)
  assert.match(r.stderr, 'MECHA_ERR_NATIVE_ADDON')
  assert.match(r.stderr, notADir)
})

test('executable - service install --dry-run names the executable itself', async () => {
  const { dir, exe } = await freshCopy('x64'); made.push(dir)
  const r = await runExe('x64', exe, ['service', 'install', '--dry-run'], { cwd: dir, env: { MECHA_NATIVE_CACHE: join(dir, 'cache') } })
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, `ExecStart=${exe} run --data-dir /var/lib/mecha`)
  assert.match(r.stdout, 'Restart=always')
})

test('executable - the serial stack loads its embedded native addon (devices --json)', async () => {
  const { dir, exe } = await freshCopy('x64'); made.push(dir)
  const r = await runExe('x64', exe, ['devices', '--json'], { cwd: dir, env: { MECHA_NATIVE_CACHE: join(dir, 'cache') } })
  assert.is(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { serial: unknown[]; addons: Record<string, string> }
  assert.ok(Array.isArray(out.serial))
  assert.ok(Object.keys(out.addons).some((k) => k.includes('serialport')), `addons loaded: ${JSON.stringify(out.addons)}`)
  await assertCache(join(dir, 'cache'), ['serialport-bindings-cpp'])
})

/** Publishes, subscribes and saves state through a running executable; returns what a subscriber got. */
async function exercise (ports: { mqtt: number; api: number }): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: 'exe-test', reconnectPeriod: 0, connectTimeout: 5000 })
  try {
    const got = new Promise<{ topic: string; payload: string }>((resolve) => {
      client.on('message', (topic, payload) => { resolve({ topic, payload: payload.toString() }) })
    })
    await client.subscribeAsync('sensors/#', { qos: 1 })
    await client.publishAsync('sensors/t1', '21.5', { qos: 1 })
    const msg = await Promise.race([got, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no message within 5 s')), 5000))])
    assert.equal(msg, { topic: 'sensors/t1', payload: '21.5' })
    // Retained: kept in the broker's LevelDB persistence, read back after a restart.
    await client.publishAsync('config/interval', '60', { qos: 1, retain: true })
  } finally {
    await client.endAsync()
  }
  const api = `http://127.0.0.1:${ports.api}/v1.0/state/statestore`
  const saved = await fetch(api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'k1', value: { t: 21.5 } }]) })
  assert.is(saved.status, 204, await saved.text())
}

async function readBack (ports: { mqtt: number; api: number }): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${ports.api}/v1.0/state/statestore/k1`)
  assert.is(res.status, 200)
  assert.equal(await res.json(), { t: 21.5 })
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: 'exe-test-2', reconnectPeriod: 0, connectTimeout: 5000 })
  try {
    const got = new Promise<string>((resolve) => { client.on('message', (_topic, payload) => { resolve(payload.toString()) }) })
    await client.subscribeAsync('config/interval', { qos: 1 })
    const payload = await Promise.race([got, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('retained message lost across the restart')), 5000))])
    assert.is(payload, '60')
  } finally {
    await client.endAsync()
  }
}

test('executable - run: healthz 204, MQTT and state through it, data survives a restart, SIGTERM exits 0 within 5 s', async () => {
  const { dir, exe } = await freshCopy('x64'); made.push(dir)
  const cwd = await tmp('mecha-cwd')
  const dataDir = join(dir, 'data')
  const { file, ports } = await writeConfig(join(dir, 'etc'))
  const env = { MECHA_NATIVE_CACHE: join(dir, 'cache') }
  for (const round of [1, 2]) {
    const child = spawnExe('x64', exe, ['run', '--config', file, '--data-dir', dataDir], { cwd, env })
    const out = capture(child)
    try {
      await waitHealthy(ports.api, child, 30_000).catch((err: Error) => { throw new Error(`${err.message}\n${out.text()}`) })
      if (round === 1) await exercise(ports)
      else await readBack(ports)
    } finally {
      const stopped = await stop(child, 5000)
      assert.is(stopped.code, 0, `round ${round}: exit code after SIGTERM\n${out.text()}`)
      assert.ok(stopped.ms < 5000, `stopped in ${stopped.ms} ms`)
    }
    assert.not.match(out.text(), /Warning|Cannot find module/, 'no runtime warnings')
  }
  assert.ok(existsSync(join(dataDir, 'db', 'CURRENT')), 'the LevelDB lives in the data dir')
  assert.is(existsSync(join(cwd, 'data')), false, 'nothing written to the working dir')
  assert.ok((await readFile(join(dataDir, 'db', 'CURRENT'), 'utf8')).startsWith('MANIFEST-'))
})

test.run()
