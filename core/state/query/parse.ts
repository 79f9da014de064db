/**
 * Validation of a Dapr state query (docs.dapr.io/reference/api/state_api/#query-state,
 * docs.dapr.io/developing-applications/building-blocks/state-management/howto-state-query-api).
 * A bad query is bad input: 400 with Dapr's query code, before anything is read.
 */
import { MechaError } from '../../errors.ts'
import type { QueryFilter, StateQuery } from '../types.ts'

const COMPARE = ['EQ', 'NEQ', 'GT', 'GTE', 'LT', 'LTE'] as const
export type CompareOp = typeof COMPARE[number]

export type Filter =
  | { op: CompareOp; path: string[]; value: unknown }
  | { op: 'IN'; path: string[]; values: unknown[] }
  | { op: 'AND' | 'OR'; filters: Filter[] }

export interface ParsedQuery {
  filter?: Filter
  sort: Array<{ path: string[]; desc: boolean }>
  limit: number
  token?: string
}

const MAX_DEPTH = 32

function bad (message: string): MechaError {
  return new MechaError('ERR_STATE_QUERY', `invalid query: ${message}`, { status: 400 })
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function path (key: string): string[] {
  if (key === '') throw bad('empty field name')
  return key.split('.')
}

function parseFilter (raw: unknown, depth: number): Filter {
  if (depth > MAX_DEPTH) throw bad('filter nested too deeply')
  if (!isObject(raw)) throw bad('a filter must be an object')
  const ops = Object.keys(raw)
  if (ops.length !== 1) throw bad(`a filter has exactly one operator, got ${ops.length}`)
  const op = ops[0]
  const arg = raw[op]
  if (op === 'AND' || op === 'OR') {
    if (!Array.isArray(arg) || arg.length === 0) throw bad(`${op} takes a non-empty array of filters`)
    return { op, filters: arg.map((f) => parseFilter(f, depth + 1)) }
  }
  if (!isObject(arg) || Object.keys(arg).length !== 1) throw bad(`${op} takes an object with one field`)
  const [field, value] = Object.entries(arg)[0]
  if (op === 'IN') {
    if (!Array.isArray(value)) throw bad('IN takes an array of values')
    return { op, path: path(field), values: value }
  }
  if ((COMPARE as readonly string[]).includes(op)) return { op: op as CompareOp, path: path(field), value }
  throw bad(`unknown operator ${op}`)
}

/** Validates a query; `maxLimit` caps the page size (bounded memory: at most that many values are held). */
export function parseQuery (raw: unknown, maxLimit: number): ParsedQuery {
  if (!isObject(raw)) throw bad('the query must be a JSON object')
  const q = raw as StateQuery & Record<string, unknown>
  for (const k of Object.keys(q)) if (k !== 'filter' && k !== 'sort' && k !== 'page') throw bad(`unknown field ${k}`)
  const out: ParsedQuery = { sort: [], limit: maxLimit }
  if (q.filter !== undefined && !(isObject(q.filter) && Object.keys(q.filter).length === 0)) {
    out.filter = parseFilter(q.filter as QueryFilter, 0)
  }
  if (q.sort !== undefined) {
    if (!Array.isArray(q.sort)) throw bad('sort must be an array')
    for (const s of q.sort) {
      if (!isObject(s) || typeof s.key !== 'string') throw bad('each sort entry needs a "key"')
      if (s.order !== undefined && s.order !== 'ASC' && s.order !== 'DESC') throw bad('sort order is ASC or DESC')
      out.sort.push({ path: path(s.key), desc: s.order === 'DESC' })
    }
  }
  if (q.page !== undefined) {
    if (!isObject(q.page)) throw bad('page must be an object')
    const { limit, token } = q.page
    if (limit !== undefined) {
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw bad('page.limit must be a non-negative integer')
      // 0 means "no limit" in Dapr; we still page at maxLimit so memory stays bounded.
      if (limit > 0) out.limit = Math.min(limit, maxLimit)
    }
    if (token !== undefined && token !== '') {
      if (typeof token !== 'string') throw bad('page.token must be a string')
      out.token = token
    }
  }
  return out
}
