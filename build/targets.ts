import { existsSync } from 'node:fs'

export type Arch = 'x64' | 'arm64'
export const ARCHES: readonly Arch[] = ['x64', 'arm64']

export interface Target {
  arch: Arch
  /** `linux-x64`: the prebuilds dir name and the executable's suffix. */
  name: string
  /** The GNU triple, for cross binutils (`aarch64-linux-gnu-strip`). */
  triple: string
  /** The tag node-gyp-build's prebuild names use for this CPU besides the dir (`armv8` on arm64). */
  armTag?: string
}

export function target (arch: Arch): Target {
  return arch === 'x64'
    ? { arch, name: 'linux-x64', triple: 'x86_64-linux-gnu' }
    : { arch, name: 'linux-arm64', triple: 'aarch64-linux-gnu', armTag: 'armv8' }
}

export function hostArch (): Arch {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    throw new Error(`the build runs on linux-x64 or linux-arm64, not ${process.platform}-${process.arch}`)
  }
  return process.arch
}

const QEMU_SYSROOT: Record<Arch, string> = { x64: '/usr/x86_64-linux-gnu', arm64: '/usr/aarch64-linux-gnu' }
const QEMU_BIN: Record<Arch, string> = { x64: 'qemu-x86_64', arm64: 'qemu-aarch64' }

/**
 * The argv prefix that runs a binary of `arch` on this machine: nothing for the host's own arch, qemu-user with
 * the cross sysroot (Debian `qemu-user`, `libc6-arm64-cross`, `libstdc++6-arm64-cross`) for the other one, or
 * undefined when that is not installed.
 */
export function runnerFor (arch: Arch): string[] | undefined {
  if (arch === process.arch) return []
  const sysroot = QEMU_SYSROOT[arch]
  for (const dir of ['/usr/bin', '/usr/local/bin']) {
    const qemu = `${dir}/${QEMU_BIN[arch]}`
    if (existsSync(qemu) && existsSync(sysroot)) return [qemu, '-L', sysroot]
  }
  return undefined
}
