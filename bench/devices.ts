/**
 * Devices benchmark: serial lines/s end to end — a line written on one end of a `socat` pty pair at 115200
 * baud, read by the runtime's `bindings.serial` component on the other end, published on
 * `devices/<name>/events`, received by an MQTT subscriber — next to the line rate the baud rate allows
 * (115200 / 10 bits per byte / line length), the ceiling a real UART imposes. The writer paces its lines at that
 * ceiling (a pty itself is not baud-limited), so a runtime that keeps up reaches a ratio of 1.
 * Should the runtime refuse the `bindings.serial` component or publish no events, the row is skipped with the
 * reason.
 *   node --import tsx bench/devices.ts [--smoke] [--seconds N]
 */
import { existsSync } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { installCleanup, sleep, startChild, waitUntil } from './lib/child.ts'
import { startMecha, type MechaProcess } from './lib/mecha.ts'
import { connect } from './lib/mqtt-load.ts'
import { percentile } from './lib/proc.ts'
import { finish, numArg, progress, row, type Row } from './lib/report.ts'

installCleanup()
const SECONDS = numArg('seconds', 5, 1) // paced at the baud ceiling: 1,800 lines, as steady a rate as 10 s gives
const BAUD = 115200
const LINE_BYTES = 32 // "<seq>,<ms timestamp>" padded, with the newline
const CEILING = BAUD / 10 / LINE_BYTES
const NAME = 'serial-bench'
const SOCAT = ['/usr/bin/socat', '/bin/socat'].find((p) => existsSync(p))
const base: Pick<Row, 'bench' | 'anchorName' | 'unit' | 'better'> = { bench: 'devices', anchorName: `${BAUD} baud line-rate limit`, unit: 'lines/s', better: 'higher' }
const METRIC = `serial → MQTT, ${LINE_BYTES}-byte lines at ${BAUD} baud`

function line (seq: number): string {
  const body = `${seq},${performance.now().toFixed(3)}`
  return body.padEnd(LINE_BYTES - 1, ' ') + '\n'
}

async function main (): Promise<void> {
  if (SOCAT === undefined) { row({ ...base, metric: METRIC, anchor: CEILING, skip: 'socat not installed (apt-get install socat)' }); finish(); return }
  const dir = await mkdtemp(join(tmpdir(), 'bench-serial-'))
  const dev = join(dir, 'dev'); const host = join(dir, 'host')
  const socat = startChild('socat', SOCAT, ['-d', '-d', `pty,raw,echo=0,b${BAUD},link=${dev}`, `pty,raw,echo=0,b${BAUD},link=${host}`])
  let mecha: MechaProcess | undefined
  try {
    await waitUntil(() => existsSync(dev) && existsSync(host), 5000, () => `socat ptys:\n${socat.output()}`)
    const component = {
      apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: NAME },
      spec: { type: 'bindings.serial', version: 'v1', metadata: [{ name: 'path', value: dev }, { name: 'baudRate', value: String(BAUD) }] },
    }
    try {
      mecha = await startMecha({ components: [component] }, { timeoutMs: 30_000 })
    } catch (err) {
      const why = /"message":"([^"]{0,160})/.exec((err as Error).message)?.[1] ?? (err as Error).message.split('\n')[0]
      row({ ...base, metric: METRIC, anchor: CEILING, skip: `the runtime did not start with a bindings.serial component: ${why}` })
      return
    }
    const sub = await connect(`mqtt://127.0.0.1:${mecha.mqttPort}`, 'bench-serial-sub')
    const lat: number[] = []
    let got = 0; let firstAt = 0; let lastAt = 0
    sub.on('message', (_t, payload) => {
      const now = performance.now()
      let text = payload.toString()
      try { const ev = JSON.parse(text) as { raw?: unknown; value?: unknown }; text = String(ev.raw ?? ev.value ?? '') } catch {}
      const sent = Number(text.trim().split(',')[1])
      if (Number.isFinite(sent)) lat.push(now - sent)
      if (got++ === 0) firstAt = now
      lastAt = now
    })
    await sub.subscribeAsync(`devices/${NAME}/events`, { qos: 0 })
    const fh = await open(host, 'w')
    try {
      // Is it wired? A few probe lines must come out as events.
      const probeUntil = performance.now() + 3000
      let seq = 0
      while (got === 0 && performance.now() < probeUntil) { await fh.write(line(seq++)); await sleep(100) }
      if (got === 0) {
        row({ ...base, metric: METRIC, anchor: CEILING, skip: `no event on devices/${NAME}/events within 3 s` })
        return
      }
      await sleep(300)
      got = 0; lat.length = 0
      const t0 = performance.now()
      let sent = 0
      while (performance.now() - t0 < SECONDS * 1000) {
        const due = Math.floor(((performance.now() - t0) / 1000) * CEILING)
        let chunk = ''
        while (sent < due) chunk += line(1_000_000 + sent++)
        if (chunk !== '') await fh.write(chunk)
        await sleep(5)
      }
      await waitUntil(() => got >= sent, 5000, '').catch(() => {})
      const rate = got / ((lastAt - Math.min(firstAt, t0)) / 1000)
      lat.sort((a, b) => a - b)
      progress(`serial: ${got}/${sent} lines, ${rate.toFixed(0)} lines/s (ceiling ${CEILING.toFixed(0)})`)
      row({ ...base, metric: METRIC, mecha: rate, anchor: CEILING, note: `${got} of ${sent} lines delivered; latency p50 ${percentile(lat, 0.5).toFixed(2)} ms, p99 ${percentile(lat, 0.99).toFixed(2)} ms` })
    } finally {
      await fh.close()
      await sub.endAsync(true).catch(() => {})
    }
  } finally {
    await mecha?.close()
    await socat.stop(2000)
    await rm(dir, { recursive: true, force: true })
    finish()
  }
}

await main()
