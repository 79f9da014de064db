import { getRawAsset, isSea as nodeIsSea } from 'node:sea'

/** True inside the single executable. */
export function isSea (): boolean {
  return nodeIsSea()
}

/**
 * One embedded asset's bytes, without copying them (a view over the executable's mapped blob), or undefined
 * when the executable carries no asset of that name. Only meaningful when `isSea()`.
 */
export function seaAsset (name: string): Buffer | undefined {
  let raw: string | ArrayBuffer
  try {
    raw = getRawAsset(name)
  } catch {
    return undefined // node:sea throws ERR_SINGLE_EXECUTABLE_APPLICATION_ASSET_NOT_FOUND
  }
  // @types/node 20 types getRawAsset as `string | ArrayBuffer`; Node returns an ArrayBuffer.
  return typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw)
}
