import { isSafeKey, parseJson, stringifyJson } from '../safe-json.ts'
import type { SessionMeta, SessionValues, StoredSession } from './contract.ts'
import { checkMeta, toRecord } from './record.ts'

/** How MemoryStore holds a session: each top-level key's JSON text, so nothing the app mutates later leaks in. */
export interface Entry {
  /** Each top-level key's JSON, as a field-level store keeps it. */
  fields: Map<string, string>
  meta: SessionMeta | null
  userId: string | null
  expiresAt: number
  version: number
}

/** Each key's JSON, all of it before any is written: a value JSON cannot hold fails the write as a whole. */
export function encodeFields(values: SessionValues): Array<[string, string | undefined]> {
  const encoded: Array<[string, string | undefined]> = []
  for (const key of Object.keys(values)) {
    // a top-level __proto__ key would become the prototype of any plain object the data is later copied into
    if (isSafeKey(key)) encoded.push([key, stringifyJson(values[key], key, 'memory: ')])
  }
  return encoded
}

export function writeFields(fields: Map<string, string>, encoded: Array<[string, string | undefined]>): void {
  for (const [key, json] of encoded) {
    // compat: JSON drops undefined and functions, so such a key is not stored at all
    if (json === undefined) fields.delete(key)
    else fields.set(key, json)
  }
}

/** The entry as a store returns it: each key's value parsed from its text. */
export function toStored(entry: Entry): StoredSession {
  const data: SessionValues = Object.create(null)
  for (const [key, json] of entry.fields) data[key] = parseJson(json)
  return toRecord('memory', { data, meta: checkMeta('memory', entry.meta), userId: entry.userId, expiresAt: entry.expiresAt, version: entry.version })
}
