import { MechaError } from '../../../core/errors.ts'

/** `?lines=N`: an integer 1..max, `dflt` when absent. */
export function linesParam (value: unknown, dflt: number, max: number): number {
  if (value === undefined || value === '') return dflt
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > max) throw new MechaError('ERR_MALFORMED_REQUEST', `lines must be an integer 1-${max}`)
  return n
}

/** `?follow=1` / `true`. */
export function flagParam (value: unknown): boolean {
  return value === '1' || value === 'true'
}

/** A path parameter that names something (app id, MQTT client id): non-empty, bounded. */
export function idParam (value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 1024) throw new MechaError('ERR_MALFORMED_REQUEST', `${what} must be a non-empty string`)
  return value
}
