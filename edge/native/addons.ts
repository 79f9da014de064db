/**
 * The native addons the runtime uses, by package name, and the prebuild finder each one calls. The build reads
 * this table to pick each target's prebuild; the bundle's loader reads it to load an addon outside a SEA. A
 * package that calls `node-gyp-build` and is not listed here fails the build, so no addon goes missing silently.
 */
export const ADDONS = {
  'classic-level': { finder: 'node-gyp-build' },
  'cbor-extract': { finder: 'node-gyp-build-optional-packages' },
  '@serialport/bindings-cpp': { finder: 'node-gyp-build' },
} as const satisfies Record<string, { finder: 'node-gyp-build' | 'node-gyp-build-optional-packages' }>

export type AddonName = keyof typeof ADDONS

/** What the build embeds for each addon: the SEA asset holding it, its file name and its SHA-256 (hex). */
export interface AddonEntry {
  asset: string
  file: string
  sha256: string
}

/** The SEA asset that maps addon names to their entries. */
export const ADDON_MANIFEST_ASSET = 'native/manifest.json'

export function isAddonName (name: string): name is AddonName {
  return Object.hasOwn(ADDONS, name)
}
