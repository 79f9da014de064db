/**
 * The executable validates configs with ajv's standalone code generated at build time
 * (build/config-validators.ts), the sources with the schemas compiled at run time. Both must accept, fill in
 * and reject exactly the same configs with the same problems: this runs a corpus — a full valid config, and
 * every leaf of it given a value of the wrong type, every object given an unknown key, every key removed —
 * through both and compares the problems and the defaults they filled in.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { ValidateFunction } from 'ajv'
import * as esbuild from 'esbuild'
import { standaloneValidators } from '../../build/config-validators.ts'
import { configValidatorsPlugin } from '../../build/esbuild-plugins.ts'
import { validateCloud, validateConfig } from '../../core/config/compiled-validators.ts'
import { schemaProblems, validateShape } from '../../core/config/validate.ts'
import { tmpDir, cleanupTmp } from '../helpers/tmp.ts'

test.after(cleanupTmp)

const FULL = {
  id: 'gw-01',
  dataDir: './data',
  log: { level: 'debug', pretty: true },
  store: { durability: 'power' },
  memory: { maxHeapMiB: 64 },
  mqtt: { host: '127.0.0.1', port: 1883, users: [{ username: 'u', password: 'scrypt$x' }], acl: [{ user: 'u', topic: 'a/#', access: 'publish', allow: true }] },
  api: { host: '127.0.0.1', port: 3500, grpcPort: 50001, token: 't' },
  ui: { host: '127.0.0.1', port: 8080, enabled: true },
  metrics: { host: '127.0.0.1', port: 9090 },
  cloud: {
    url: 'mqtts://broker.example:8883',
    clientId: '{id}',
    forward: [{ from: 'sensors/#', to: 'gateways/{id}/', qos: 1, priority: 5 }],
    receive: [{ from: 'gateways/{id}/cmd/#', to: 'cmd/' }],
    outbox: { maxBytes: 268435456, whenFull: 'drop-oldest', durability: 'process' },
  },
  components: [{ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'probe' }, spec: { type: 'bindings.serial', version: 'v1', metadata: [{ name: 'path', value: '/dev/ttyUSB0' }] } }],
  subscriptions: [{ apiVersion: 'dapr.io/v2alpha1', kind: 'Subscription', metadata: { name: 's' }, spec: { pubsubname: 'pubsub', topic: 't', routes: { rules: [{ match: 'event.type == "x"', path: '/x' }], default: '/t' } } }],
  apps: [{ id: 'thermo', command: 'python3', args: ['app.py'], appPort: 5000, restart: 'always' }],
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** A value of another JSON type than `v` (so every `type` keyword, and the checks under it, gets hit). */
function wrongType (v: Json): Json {
  if (typeof v === 'string') return 7
  if (typeof v === 'number') return Number.isInteger(v) ? 1.5 : 'x'
  if (typeof v === 'boolean') return 'yes'
  if (Array.isArray(v)) return { a: 1 }
  return [1]
}

/** The full config and its variants, bounded by the size of FULL. */
function corpus (): unknown[] {
  const out: unknown[] = [{}, FULL, [], 'x', { cloud: {} }]
  const walk = (node: Json, edit: (f: (n: Json) => Json) => void): void => {
    if (node === null || typeof node !== 'object') return
    if (!Array.isArray(node)) edit((n) => ({ ...(n as object), zzUnknown: 1 }))
    for (const k of Object.keys(node)) {
      const key = Array.isArray(node) ? Number(k) : k
      const child = (node as Record<string, Json>)[k]!
      const at = (f: (n: Json) => Json): void => edit((n) => {
        const copy: Json = Array.isArray(n) ? [...n] : { ...(n as object) }
        ;(copy as Record<string | number, Json>)[key] = f((n as Record<string | number, Json>)[key]!)
        return copy
      })
      at(wrongType)
      at(() => -1)
      at(() => '')
      if (!Array.isArray(node)) edit((n) => { const { [k]: _drop, ...rest } = n as Record<string, Json>; return rest })
      walk(child, at)
    }
  }
  walk(FULL as unknown as Json, (f) => out.push(f(FULL as unknown as Json)))
  return out
}

async function standalone (): Promise<{ validateConfig: ValidateFunction; validateCloud: ValidateFunction }> {
  const file = join(await tmpDir('ajv-standalone'), 'validators.cjs')
  await writeFile(file, standaloneValidators({ absolute: true }))
  return createRequire(import.meta.url)(file) as { validateConfig: ValidateFunction; validateCloud: ValidateFunction }
}

function run (validate: ValidateFunction, input: unknown, prefix: string): { problems: unknown; filled: unknown } {
  const data = structuredClone(input)
  return { problems: schemaProblems(validate, data, prefix), filled: data }
}

test('config standalone - the full config is valid (else the corpus would test little)', () => {
  assert.equal(run(validateConfig, FULL, '').problems, [])
})

test('config standalone - the build\'s validators accept, fill and reject the same configs with the same problems', async () => {
  const built = await standalone()
  const cases = corpus()
  assert.ok(cases.length > 200, `${cases.length} cases`)
  let rejected = 0
  for (const c of cases) {
    const a = run(validateConfig, c, '')
    assert.equal(run(built.validateConfig, c, ''), a, JSON.stringify(c))
    if ((a.problems as unknown[]).length > 0) rejected++
    const cloud = (c as { cloud?: unknown } | undefined)?.cloud
    if (cloud !== undefined) assert.equal(run(built.validateCloud, cloud, '/cloud'), run(validateCloud, cloud, '/cloud'), JSON.stringify(cloud))
  }
  // Most variants are broken: the comparison covers the error paths, not just "valid".
  assert.ok(rejected > cases.length / 2, `${rejected} of ${cases.length} rejected`)
})

test('config standalone - the bundle takes the build\'s validators and carries no ajv compiler', async () => {
  const out = join(await tmpDir('ajv-bundle'), 'validate.cjs')
  const r = await esbuild.build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'core', 'config', 'validate.ts')],
    outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent', metafile: true,
    plugins: [configValidatorsPlugin()],
  })
  const inputs = Object.keys(r.metafile.inputs)
  assert.ok(inputs.includes('mecha-config-validators:compiled-validators'), inputs.join('\n'))
  assert.not.ok(inputs.some((f) => f.includes('ajv/dist/compile/') || f.endsWith('core/config/compiled-validators.ts')), inputs.join('\n'))
  const bundled = createRequire(import.meta.url)(out) as { validateShape: typeof validateShape }
  const bad = { mqtt: { port: 'x', bogus: 1 }, cloud: { url: 7 } }
  assert.equal(bundled.validateShape(structuredClone(bad)), validateShape(structuredClone(bad)))
  assert.ok(validateShape(structuredClone(bad)).length >= 3)
})

test.run()
