/**
 * `bindings.gpio` metadata. A line is `chip` + `line` (the Linux GPIO character device, driven through the
 * libgpiod tools) or a legacy `sysfs` number (under `sysfsRoot`, default /sys/class/gpio). Light: no I/O.
 */
import type { ConfigProblem } from '../../core/config/types.ts'
import type { BindingComponent } from '../../core/bindings/types.ts'
import { MetadataReader } from '../../core/bindings/metadata.ts'

export const EDGES = ['none', 'rising', 'falling', 'both'] as const
export const BIASES = ['as-is', 'disable', 'pull-up', 'pull-down'] as const
export type Edge = typeof EDGES[number]
export type Bias = typeof BIASES[number]
export type Level = 0 | 1

export interface GpioOptions {
  readonly backend: 'libgpiod' | 'sysfs'
  readonly chip?: string
  readonly line?: number
  readonly sysfs?: number
  readonly sysfsRoot: string
  readonly direction: 'in' | 'out'
  readonly edge: Edge
  readonly debounceMs: number
  readonly bias: Bias
  readonly activeLow: boolean
  readonly initial: Level
  readonly pollIntervalMs: number
  readonly reconnectMinMs: number
  readonly reconnectMaxMs: number
}

export function parseLevel (s: string): Level | undefined {
  if (/^(1|true|high|on)$/i.test(s)) return 1
  if (/^(0|false|low|off)$/i.test(s)) return 0
  return undefined
}

export function parseGpioMetadata (meta: Readonly<Record<string, string>>): { options: GpioOptions; problems: ConfigProblem[] } {
  const r = new MetadataReader(meta)
  const chip = r.string('chip')
  const line = r.int('line', { min: 0, max: 65535 })
  const sysfs = r.int('sysfs', { min: 0, max: 65535 })
  const sysfsRoot = r.string('sysfsRoot', { default: '/sys/class/gpio' })!
  if (sysfs !== undefined && (chip !== undefined || line !== undefined)) r.problem('sysfs', 'give either chip + line or sysfs, not both')
  else if (sysfs === undefined) {
    if (chip === undefined && line === undefined) r.problem('line', 'is required: chip + line (character device) or sysfs (legacy number)')
    else if (chip === undefined) r.problem('chip', 'is required with line (gpiochip0, 0 or /dev/gpiochip0)')
    else if (line === undefined) r.problem('line', 'is required with chip')
  }
  if (chip !== undefined && !/^(gpiochip\d+|\d+|\/dev\/gpiochip\d+|[\w.:-]+)$/.test(chip)) r.problem('chip', `is not a chip name, number, path or label (got ${JSON.stringify(chip)})`)
  if (r.has('sysfsRoot') && sysfs === undefined) r.problem('sysfsRoot', 'is only used with sysfs')
  const backend = sysfs !== undefined ? 'sysfs' : 'libgpiod'
  const direction = r.oneOf('direction', ['in', 'out'] as const, 'in')
  const edge = r.oneOf('edge', EDGES, direction === 'in' ? 'both' : 'none')
  if (direction === 'out' && edge !== 'none') r.problem('edge', 'is only used with direction: in')
  const debounceMs = r.int('debounceMs', { min: 0, max: 60_000, default: 0 })!
  if (direction === 'out' && r.has('debounceMs')) r.problem('debounceMs', 'is only used with direction: in')
  const bias = r.oneOf('bias', BIASES, 'as-is')
  if (backend === 'sysfs' && bias !== 'as-is') r.problem('bias', 'the sysfs interface cannot set a bias; use chip + line (libgpiod)')
  const activeLow = r.bool('activeLow', false)
  let initial: Level = 0
  const initialText = r.string('initial')
  if (initialText !== undefined) {
    if (direction !== 'out') r.problem('initial', 'is only used with direction: out')
    const l = parseLevel(initialText)
    if (l === undefined) r.problem('initial', `must be 0 or 1 (got ${JSON.stringify(initialText)})`)
    else initial = l
  }
  const pollIntervalMs = r.int('pollIntervalMs', { min: 1, max: 10_000, default: 10 })!
  if (r.has('pollIntervalMs') && backend !== 'sysfs') r.problem('pollIntervalMs', 'is only used with sysfs (libgpiod reports edges from the kernel)')
  const reconnectMinMs = r.int('reconnectMinMs', { min: 1, max: 600_000, default: 500 })!
  const reconnectMaxMs = r.int('reconnectMaxMs', { min: 1, max: 3_600_000, default: 30_000 })!
  if (reconnectMaxMs < reconnectMinMs) r.problem('reconnectMaxMs', 'must be ≥ reconnectMinMs')
  const problems = r.finish()
  return {
    options: Object.freeze({
      backend, ...(chip !== undefined ? { chip } : {}), ...(line !== undefined ? { line } : {}), ...(sysfs !== undefined ? { sysfs } : {}),
      sysfsRoot, direction, edge, debounceMs, bias, activeLow, initial, pollIntervalMs, reconnectMinMs, reconnectMaxMs,
    }),
    problems,
  }
}

export function validateGpio (component: BindingComponent): ConfigProblem[] {
  return parseGpioMetadata(component.metadata).problems
}
