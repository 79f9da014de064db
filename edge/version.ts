import pkg from '../package.json' with { type: 'json' }

declare const __MECHA_BUILD__: { commit: string; target: string; builtAt: string } | undefined

/** The runtime's version, and what the single-executable build stamped in (absent when run from source). */
export const VERSION: string = pkg.version
export const BUILD = typeof __MECHA_BUILD__ === 'undefined'
  ? { commit: 'source', target: `${process.platform}-${process.arch}`, builtAt: '' }
  : __MECHA_BUILD__
