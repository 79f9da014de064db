/**
 * The serial ports this gateway has, as `serialport` sees them. The serial stack (and its native addon) loads
 * only when asked (CONVENTIONS 13): a gateway without serial devices never pays for it.
 */
export interface SerialPortInfo {
  path: string
  manufacturer?: string
  serialNumber?: string
  vendorId?: string
  productId?: string
}

export async function listSerialPorts (): Promise<SerialPortInfo[]> {
  const { SerialPort } = await import('serialport')
  let ports: Awaited<ReturnType<typeof SerialPort.list>>
  try {
    // On Linux this asks udev (`udevadm`) for the ports and their USB ids.
    ports = await SerialPort.list()
  } catch (err) {
    // Minimal gateway images often have no udevadm: fall back to the device nodes themselves.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return await devNodes()
  }
  return ports.map((p) => ({
    path: p.path,
    ...(p.manufacturer === undefined ? {} : { manufacturer: p.manufacturer }),
    ...(p.serialNumber === undefined ? {} : { serialNumber: p.serialNumber }),
    ...(p.vendorId === undefined ? {} : { vendorId: p.vendorId }),
    ...(p.productId === undefined ? {} : { productId: p.productId }),
  }))
}

/** USB serial adapters, CDC-ACM devices and SoC UARTs, from /dev (no ids without udev). */
export async function devNodes (dev = '/dev'): Promise<SerialPortInfo[]> {
  const { readdir } = await import('node:fs/promises')
  const names = await readdir(dev).catch(() => [] as string[])
  return names.filter((n) => /^tty(USB|ACM|AMA|mxc)\d+$/.test(n)).sort().map((n) => ({ path: `${dev}/${n}` }))
}
