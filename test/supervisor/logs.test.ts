import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { Supervisor, type LogLine } from '../../core/supervisor/index.ts'
import { AppLog, MAX_LINE_CHARS } from '../../core/supervisor/app-logs.ts'
import { ManualClock } from '../../core/clock.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'
import { apps, fixture, log, until } from './helpers.ts'

test.after(cleanupTmp)

test('supervisor logs - lines with timestamps in <dataDir>/logs/<id>.log, rotated and bounded; tail and follow', async () => {
  const dir = await tmpDir('sup-logs')
  const sup = new Supervisor({ apps: await apps([{ id: 'noisy', command: process.execPath, args: [fixture('noisy.mjs'), '300'], restart: 'never', logs: { maxBytes: 4096, files: 2 } }]), env: {}, log, dataDir: dir })
  const followed: LogLine[] = []
  const ctl = new AbortController()
  const reading = (async () => { for await (const l of sup.follow('noisy', ctl.signal)!) followed.push(l) })()
  sup.start()
  await until('exited', () => sup.status()[0].state.type === 'exited')
  // An exit can come before the last output: the follower sees each line as it is written.
  await until('followed every line', () => followed.filter((l) => l.stream !== 'supervisor').length === 300)
  await sup.tail('noisy', 1) // waits until every line is in the files
  const files = (await readdir(join(dir, 'logs'))).sort()
  assert.equal(files, ['noisy.log', 'noisy.log.1', 'noisy.log.2'], 'two rotated files, no more')
  for (const f of files) assert.ok((await stat(join(dir, 'logs', f))).size <= 4096, `${f} within maxBytes`)
  const tail = await sup.tail('noisy', 20)
  assert.is(tail.length, 20)
  assert.ok(tail.some((l) => l.stream === 'supervisor' && /exited with code 0/.test(l.line)))
  // stdout and stderr are two pipes: their lines interleave in arrival order, so which lines are the last 20
  // depends on the pipes; what is fixed is that the tail is the end of what was written, in that order, and
  // that every line keeps the stream it came from (every tenth went to stderr).
  assert.equal(tail.filter((l) => l.stream !== 'supervisor').map((l) => l.line), followed.filter((l) => l.stream !== 'supervisor').slice(-tail.filter((l) => l.stream !== 'supervisor').length).map((l) => l.line))
  for (const l of followed) {
    const n = /^line (\d+)/.exec(l.line)
    if (n !== null) assert.is(l.stream, Number(n[1]) % 10 === 0 ? 'stderr' : 'stdout', l.line)
  }
  assert.ok(Math.abs(tail[0].ts - Date.now()) < 60_000, 'timestamped')
  // Older lines come from the rotated files; the very first ones were rotated away (bounded).
  const many = await sup.tail('noisy', 10_000)
  assert.ok(many.length > 40 && many.length < 300, `bounded (${many.length} lines kept)`)
  assert.equal(many.slice(-3), tail.slice(-3))
  assert.is(followed.filter((l) => l.stream === 'stdout')[0].line.slice(0, 10), 'line 00001')
  ctl.abort()
  await reading
  assert.is(await sup.tail('nope', 5).then((l) => l.length), 0)
  assert.is(sup.follow('nope'), undefined)
  await sup.close()
})

test('supervisor logs - without a data dir the last lines are kept in memory', async () => {
  const clock = new ManualClock(Date.UTC(2024, 0, 1))
  const l = new AppLog({ maxBytes: 1024, files: 1, clock, memoryLines: 3 })
  for (const s of ['a', 'b', 'c', 'd']) l.write('stdout', s)
  assert.equal((await l.tail(10)).map((x) => x.line), ['b', 'c', 'd'])
  assert.is((await l.tail(1))[0].ts, Date.UTC(2024, 0, 1))
  await l.close()
})

test('supervisor logs - partial writes are joined into lines, a runaway line is cut, and the file bound still holds', async () => {
  const dir = await tmpDir('sup-logs')
  const file = join(dir, 'x.log')
  const l = new AppLog({ file, maxBytes: 40_000, files: 1, clock: new ManualClock() })
  const s = new PassThrough()
  l.capture(s, 'stdout')
  s.write('hel'); s.write('lo\r\nwor'); s.write(Buffer.from('ld \u00e9', 'utf8').subarray(0, 4)); s.write(Buffer.from('ld \u00e9\n', 'utf8').subarray(4)); s.write('z'.repeat(40_000)); s.end()
  await until('captured', async () => (await l.tail(100)).length >= 5)
  const all = await l.tail(100)
  assert.equal(all.slice(0, 2).map((x) => x.line), ['hello', 'world é'], 'joined, UTF-8 safe, CRLF trimmed')
  assert.equal(all.slice(2).map((x) => x.line.length), [MAX_LINE_CHARS, MAX_LINE_CHARS, 40_000 - 2 * MAX_LINE_CHARS], 'the long line cut into pieces')
  assert.ok((await stat(file)).size <= 40_000 && (await stat(`${file}.1`)).size <= 40_000)
  await l.close()
  // A single line above maxBytes is cut to fit.
  const small = new AppLog({ file: join(dir, 'small.log'), maxBytes: 1024, files: 0, clock: new ManualClock() })
  small.write('stdout', 'y'.repeat(5000)); small.write('stdout', 'after')
  assert.equal((await small.tail(5)).map((x) => x.line), ['after'])
  small.write('stdout', 'y'.repeat(5000))
  await small.flush()
  assert.ok((await stat(join(dir, 'small.log'))).size <= 1024)
  await small.close()
})

test.run()
