import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Plugin } from 'esbuild'
import { isAddonName } from '../edge/native/addons.ts'
import { COMPILED_VALIDATORS, standaloneValidators } from './config-validators.ts'

const LOADER = join(import.meta.dirname, '..', 'edge', 'native', 'load-addon.ts')

/**
 * Optional dependencies that are not installed, which their users `require` inside try/catch to speed up or
 * colour things. Bundled as a module that throws MODULE_NOT_FOUND, the same as when they are absent from
 * node_modules: the library takes its fallback, and nothing is printed.
 */
export const STUBBED = ['supports-color', 'bufferutil', 'utf-8-validate'] as const

function packageNameOf (file: string): string | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json')
    if (existsSync(pj)) {
      const name = (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name
      if (name !== undefined) return name
    }
  }
  return undefined
}

/**
 * `require('node-gyp-build')(__dirname)` (and the `-optional-packages` variant cbor-extract uses) looks for
 * `prebuilds/` next to the package, which a bundle does not have. Each such call becomes a call to our loader
 * for that package (edge/native/load-addon.ts), which dlopens the addon the executable embeds.
 */
export function nativeAddonsPlugin (seen: Set<string>): Plugin {
  return {
    name: 'mecha-native-addons',
    setup (build) {
      build.onResolve({ filter: /^node-gyp-build(-optional-packages)?$/ }, (args) => {
        const pkg = packageNameOf(args.importer)
        if (pkg === undefined || !isAddonName(pkg)) {
          return { errors: [{ text: `${pkg ?? args.importer} loads a native addon that edge/native/addons.ts does not list` }] }
        }
        seen.add(pkg)
        return { path: pkg, namespace: 'mecha-native' }
      })
      build.onLoad({ filter: /.*/, namespace: 'mecha-native' }, (args) => ({
        contents: `const { loadAddon } = require(${JSON.stringify(LOADER)})\nmodule.exports = function findAddon () { return loadAddon(${JSON.stringify(args.path)}) }\n`,
        resolveDir: dirname(LOADER),
        loader: 'js',
      }))
    },
  }
}

export function stubsPlugin (): Plugin {
  const filter = new RegExp(`^(${STUBBED.join('|')})$`)
  return {
    name: 'mecha-stubs',
    setup (build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'mecha-stub' }))
      build.onLoad({ filter: /.*/, namespace: 'mecha-stub' }, (args) => ({
        contents: `const e = new Error(${JSON.stringify(`Cannot find module '${args.path}' (not bundled)`)}); e.code = 'MODULE_NOT_FOUND'; throw e\n`,
        loader: 'js',
      }))
    },
  }
}

/**
 * The config validators compiled ahead of time: core/config/compiled-validators.ts (which compiles the schemas
 * with ajv when it loads, ~100 ms of start-up) becomes ajv's standalone code for the same schemas and options.
 */
export function configValidatorsPlugin (): Plugin {
  return {
    name: 'mecha-config-validators',
    setup (build) {
      // Its own namespace, so esbuild reads the code as the CommonJS it is (under our "type": "module" a file
      // path would make it an ES module with a global `exports`).
      build.onResolve({ filter: /compiled-validators\.ts$/ }, (args) => {
        if (join(args.resolveDir, args.path) !== COMPILED_VALIDATORS) return undefined
        return { path: 'compiled-validators', namespace: 'mecha-config-validators', pluginData: dirname(COMPILED_VALIDATORS) }
      })
      build.onLoad({ filter: /.*/, namespace: 'mecha-config-validators' }, (args) => ({
        contents: standaloneValidators(),
        // ajv's runtime helpers (`require("ajv/dist/runtime/…")`) resolve from core/config, as from the source.
        resolveDir: args.pluginData as string,
        loader: 'js',
      }))
    },
  }
}
