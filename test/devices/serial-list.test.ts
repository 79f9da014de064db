import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { devNodes, listSerialPorts } from '../../devices/serial/list-ports.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

test('devices - without udev, serial ports are found from their device nodes (USB, ACM, SoC UARTs; not legacy ttyS)', async () => {
  const dev = await tmpDir('dev')
  for (const n of ['ttyUSB0', 'ttyACM1', 'ttyAMA0', 'ttyS0', 'tty1', 'null', 'ttyUSB10']) await writeFile(join(dev, n), '')
  assert.equal((await devNodes(dev)).map((p) => p.path), ['ttyACM1', 'ttyAMA0', 'ttyUSB0', 'ttyUSB10'].map((n) => join(dev, n)))
})

test('devices - listing never throws for a gateway without serial hardware', async () => {
  const ports = await listSerialPorts()
  assert.ok(Array.isArray(ports))
})

test.run()
