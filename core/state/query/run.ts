/**
 * Runs a parsed query over a stream of stored entries with bounded memory, whatever the store's size:
 * - unsorted: entries come in key order, so a page is the next `limit` matches after the cursor key, and the
 *   token is that key (keyset paging: O(limit) memory, reads stop as soon as the page is full);
 * - sorted: one pass over the scope keeps only the `limit + 1` best matches after the cursor in a heap, and the
 *   token carries the last row's sort values and key. Each page costs one pass (O(n log limit) time) but never
 *   holds more than `limit + 1` values — never limit + offset, since the cursor replaces the offset.
 * Tokens are opaque base64url JSON; a token from another query or scope is refused as malformed.
 */
import { MechaError } from '../../errors.ts'
import { compareValues, MISSING, valueAt } from './compare.ts'
import { matches } from './filter.ts'
import type { ParsedQuery } from './parse.ts'
import { TopK } from './top-k.ts'
import type { QueryResult } from '../types.ts'

export interface QueryRow { key: string; value: unknown; etag: string; contentType?: string }

/** Yields live rows of the scope in key order, starting after `after` when given. */
export type Scan = (after: string | undefined) => AsyncIterable<QueryRow>

interface Cursor { k: string; s?: Array<[0] | [1, unknown]> }

function encodeToken (c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url')
}

function decodeToken (token: string, sorted: number, prefix: string): Cursor {
  let c: Cursor
  try { c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Cursor } catch { c = undefined as never }
  const ok = typeof c === 'object' && c !== null && typeof c.k === 'string' && c.k.startsWith(prefix) &&
    (sorted === 0 ? c.s === undefined : Array.isArray(c.s) && c.s.length === sorted)
  if (!ok) throw new MechaError('ERR_STATE_QUERY', 'invalid query: page.token does not belong to this query', { status: 400 })
  return c
}

export async function runQuery (q: ParsedQuery, scan: Scan, prefix: string): Promise<QueryResult> {
  const cursor = q.token === undefined ? undefined : decodeToken(q.token, q.sort.length, prefix)
  if (q.sort.length === 0) {
    const page: QueryRow[] = []
    let more = false
    for await (const row of scan(cursor?.k)) {
      if (!matches(q.filter, row.value)) continue
      if (page.length === q.limit) { more = true; break }
      page.push(row)
    }
    const last = page[page.length - 1]
    return { results: page, ...(more && last !== undefined ? { token: encodeToken({ k: last.key }) } : {}) }
  }

  const sortKeys = (row: QueryRow): unknown[] => q.sort.map((s) => valueAt(row.value, s.path))
  const cmpTuple = (a: unknown[], ak: string, b: unknown[], bk: string): number => {
    for (let i = 0; i < q.sort.length; i++) {
      const c = compareValues(a[i], b[i])
      if (c !== 0) return q.sort[i].desc ? -c : c
    }
    return ak < bk ? -1 : ak > bk ? 1 : 0
  }
  type Keyed = { row: QueryRow; s: unknown[] }
  const heap = new TopK<Keyed>(q.limit + 1, (a, b) => cmpTuple(a.s, a.row.key, b.s, b.row.key))
  const after = cursor === undefined ? undefined : { k: cursor.k, s: cursor.s!.map((e) => e[0] === 0 ? MISSING : e[1]) }
  for await (const row of scan(undefined)) {
    if (!matches(q.filter, row.value)) continue
    const s = sortKeys(row)
    if (after !== undefined && cmpTuple(s, row.key, after.s, after.k) <= 0) continue
    heap.push({ row, s })
  }
  const all = heap.drain()
  const page = all.slice(0, q.limit)
  const last = page[page.length - 1]
  const token = all.length > q.limit && last !== undefined
    ? encodeToken({ k: last.row.key, s: last.s.map((v) => (v === MISSING ? [0] : [1, v])) as Cursor['s'] })
    : undefined
  return { results: page.map((p) => p.row), ...(token !== undefined ? { token } : {}) }
}
