import { createRequire } from 'node:module'
import { join } from 'node:path'
import standaloneCode from 'ajv/dist/standalone/index.js'
import { configAjv, VALIDATORS } from '../core/config/config-ajv.ts'

/** The module the bundle replaces with the code below. */
export const COMPILED_VALIDATORS = join(import.meta.dirname, '..', 'core', 'config', 'compiled-validators.ts')

/**
 * ajv's standalone code for the config validators: a CommonJS module exporting `validateConfig` and
 * `validateCloud`, compiled from the same ajv set-up the sources use (core/config/config-ajv.ts). CommonJS
 * because ajv writes its runtime helpers (`ucs2length` for string lengths …) as `require(…).default`, which
 * esbuild bundles as is; with `absolute`, those paths are resolved so a test can load the code from a temp dir.
 */
export function standaloneValidators (opts: { absolute?: boolean } = {}): string {
  const ajv = configAjv({ code: { source: true } })
  // ajv's module.exports is the function and carries itself as `.default`, which is how TypeScript sees it.
  const code = standaloneCode.default(ajv, { ...VALIDATORS })
  if (opts.absolute !== true) return code
  const req = createRequire(import.meta.url)
  return code.replace(/require\("([^"]+)"\)/g, (_m: string, spec: string) => `require(${JSON.stringify(req.resolve(spec))})`)
}
