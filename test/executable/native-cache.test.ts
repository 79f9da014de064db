import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cacheDirCandidates } from '../../edge/native/cache-dir.ts'
import { extractTo, sha256Hex } from '../../edge/native/extract.ts'
import { listUiAssets, readAsset } from '../../edge/native/assets.ts'

const made: string[] = []
async function tmp (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mecha-native-test-'))
  made.push(dir)
  return dir
}
test.after(async () => { await Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))) })

test('native cache - MECHA_NATIVE_CACHE alone, else XDG_CACHE_HOME or ~/.cache, then the OS temp dir', () => {
  assert.equal(cacheDirCandidates({ MECHA_NATIVE_CACHE: '/x' }), [{ dir: '/x', explicit: true, shared: false }])
  const xdg = cacheDirCandidates({ XDG_CACHE_HOME: '/c' })
  assert.equal(xdg.map((c) => c.dir).slice(0, 1), ['/c/mecha/native'])
  assert.is(xdg.at(-1)!.shared, true)
  assert.match(xdg.at(-1)!.dir, /mecha-native-/)
  // The XDG spec ignores a relative value.
  assert.match(cacheDirCandidates({ XDG_CACHE_HOME: 'rel' })[0]!.dir, /\.cache\/mecha\/native$/)
})

test('native cache - extracts once under the content hash and reuses a good copy', async () => {
  const dir = join(await tmp(), 'a', 'b')
  const bytes = Buffer.from('addon bytes')
  const sha = sha256Hex(bytes)
  const path = extractTo({ dir, explicit: false, shared: false }, 'x.node', bytes, sha)
  assert.is(path, join(dir, `${sha.slice(0, 16)}-x.node`))
  assert.equal(await readFile(path), bytes)
  assert.equal(extractTo({ dir, explicit: false, shared: false }, 'x.node', bytes, sha), path)
  assert.equal(await readdir(dir), [`${sha.slice(0, 16)}-x.node`], 'no temp file left')
})

test('native cache - replaces a truncated or planted file with the right bytes', async () => {
  const dir = await tmp()
  const bytes = Buffer.from('the real addon')
  const sha = sha256Hex(bytes)
  const path = join(dir, `${sha.slice(0, 16)}-x.node`)
  await writeFile(path, 'the real')
  extractTo({ dir, explicit: false, shared: false }, 'x.node', bytes, sha)
  assert.equal(await readFile(path), bytes)
})

test('native cache - refuses a shared-temp dir that others can write to', async () => {
  const dir = join(await tmp(), 'mecha-native-x')
  await mkdir(dir)
  await chmod(dir, 0o777)
  const bytes = Buffer.from('b')
  assert.throws(() => extractTo({ dir, explicit: false, shared: true }, 'x.node', bytes, sha256Hex(bytes)), /not a private directory/)
})

test('native cache - a path whose parent is a file fails at once (no endless mkdir)', async () => {
  const file = join(await tmp(), 'f')
  await writeFile(file, '')
  const bytes = Buffer.from('b')
  assert.throws(() => extractTo({ dir: join(file, 'sub'), explicit: true, shared: false }, 'x.node', bytes, sha256Hex(bytes)), /ENOTDIR|not a directory/)
})

test('assets - outside a SEA read edge/ui/static and nothing outside it', () => {
  assert.is(readAsset('ui/../../../package.json'), undefined)
  assert.is(readAsset('package.json'), undefined)
  assert.is(readAsset('ui/no-such-file.html'), undefined)
  for (const name of listUiAssets()) assert.instance(readAsset(name), Buffer)
})

test.run()
