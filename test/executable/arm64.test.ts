import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { runnerFor } from '../../build/targets.ts'
import { capture, exePath, freshCopy, runExe, spawnExe, stop, waitHealthy, writeConfig } from './exe.ts'

/** Why the ARM64 executable cannot run here, or undefined when qemu-user can run it. */
function cannotRun (): string | undefined {
  const runner = runnerFor('arm64')
  if (runner === undefined) return 'qemu-aarch64 or the arm64 sysroot (/usr/aarch64-linux-gnu) is not installed'
  if (runner.length === 0) return undefined // an arm64 host runs it natively
  // qemu itself may be unable to run anything (no binfmt needed, but a seccomp'd sandbox can forbid it).
  const r = spawnSync(runner[0]!, [...runner.slice(1), '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1', '--version'], { encoding: 'utf8', timeout: 30_000 })
  return r.status === 0 ? undefined : `qemu-aarch64 cannot run here: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`
}

const reason = cannotRun()
const it = reason === undefined ? test : test.skip
if (reason !== undefined) console.log(`skipping the ARM64 executable tests: ${reason}`)

const made: string[] = []
test.after(async () => { await Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))) })

it('executable arm64 - answers version under qemu with native cbor-x', async () => {
  assert.ok(existsSync(exePath('arm64')), 'dist/mecha-linux-arm64 is missing: the build failed (see the setup output above)')
  const { dir, exe } = await freshCopy('arm64'); made.push(dir)
  const r = await runExe('arm64', exe, ['version', '--json'], { cwd: dir, env: { MECHA_NATIVE_CACHE: join(dir, 'cache') }, timeoutMs: 120_000 })
  assert.is(r.code, 0, r.stderr)
  assert.is(r.stderr, '')
  const info = JSON.parse(r.stdout) as { target: string; node: string; cborNative: boolean }
  assert.is(info.target, 'linux-arm64')
  assert.is(info.node, 'v24.22.3')
  assert.is(info.cborNative, true)
})

it('executable arm64 - run under qemu: healthz 204, SIGTERM exits 0', async () => {
  const { dir, exe } = await freshCopy('arm64'); made.push(dir)
  const { file, ports } = await writeConfig(join(dir, 'etc'))
  const child = spawnExe('arm64', exe, ['run', '--config', file, '--data-dir', join(dir, 'data')], { cwd: dir, env: { MECHA_NATIVE_CACHE: join(dir, 'cache') } })
  const out = capture(child)
  try {
    // Emulation makes start-up several times slower than on a real ARM64 gateway.
    await waitHealthy(ports.api, child, 120_000).catch((err: Error) => { throw new Error(`${err.message}\n${out.text()}`) })
  } finally {
    const stopped = await stop(child, 20_000)
    assert.is(stopped.code, 0, `exit code after SIGTERM\n${out.text()}`)
  }
  assert.ok(existsSync(join(dir, 'data', 'db', 'CURRENT')), 'the arm64 LevelDB addon opened the store')
})

test.run()
