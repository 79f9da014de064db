/**
 * Dapr's state key scheme (docs.dapr.io/reference/api/state_api/#key-scheme and
 * docs.dapr.io/developing-applications/building-blocks/state-management/howto-share-state): a key is stored as
 * `<prefix>||<key>`, where the component metadata `keyPrefix` picks the prefix — `appid` (the default: the
 * calling app's id), `name` (the store's name, shared by all apps), `none` (the bare key), or any other
 * string used verbatim. `||` is the separator, so it may not appear in a key or a custom prefix.
 */
import { MechaError } from '../errors.ts'

export const KEY_SEPARATOR = '||'

export type KeyPrefixStrategy = 'appid' | 'name' | 'none' | { custom: string }

export class KeyScope {
  readonly strategy: KeyPrefixStrategy
  readonly #storeName: string

  private constructor (strategy: KeyPrefixStrategy, storeName: string) {
    this.strategy = strategy
    this.#storeName = storeName
  }

  /** From the component metadata value of `keyPrefix` (case-insensitive names, as Dapr). */
  static from (keyPrefix: string | undefined, storeName: string): KeyScope {
    const v = (keyPrefix ?? '').trim()
    const lower = v.toLowerCase()
    if (v === '' || lower === 'appid') return new KeyScope('appid', storeName)
    if (lower === 'name') return new KeyScope('name', storeName)
    if (lower === 'none') return new KeyScope('none', storeName)
    if (v.includes(KEY_SEPARATOR)) throw new TypeError(`keyPrefix ${v} cannot contain '${KEY_SEPARATOR}'`)
    return new KeyScope({ custom: v }, storeName)
  }

  /** The prefix an app's keys carry ('' when keys are stored bare). */
  prefixFor (appId: string): string {
    const s = this.strategy
    if (s === 'none') return ''
    if (s === 'name') return this.#storeName + KEY_SEPARATOR
    if (s === 'appid') return appId === '' ? '' : appId + KEY_SEPARATOR
    return s.custom + KEY_SEPARATOR
  }

  /** The stored key for an app's key. Empty keys and keys containing `||` are refused as Dapr refuses them
   *  (400 ERR_MALFORMED_REQUEST). */
  scoped (appId: string, key: unknown): string {
    if (typeof key !== 'string' || key === '') {
      throw new MechaError('ERR_MALFORMED_REQUEST', '"key" is a required field and must be a non-empty string')
    }
    if (key.includes(KEY_SEPARATOR)) {
      throw new MechaError('ERR_MALFORMED_REQUEST', `input key/keyPrefix '${key}' can't contain '${KEY_SEPARATOR}'`)
    }
    return this.prefixFor(appId) + key
  }

  /** The app's key back from a stored key (Dapr's GetOriginalStateKey: the part after the first `||`). */
  original (stored: string): string {
    const i = stored.indexOf(KEY_SEPARATOR)
    if (i < 0) return stored
    const rest = stored.slice(i + KEY_SEPARATOR.length)
    const j = rest.indexOf(KEY_SEPARATOR)
    return j < 0 ? rest : rest.slice(0, j)
  }
}
