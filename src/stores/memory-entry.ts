import { isSafeKey, parseJson, stringifyJson } from '../safe-json.ts'
import type { SessionMeta, SessionValues, StoredSession } from './contract.ts'
import { checkMeta, toRecord } from './record.ts'

/**
 * How MemoryStore holds a session. Each top-level key's JSON text, so nothing the app mutates later
 * leaks in, in one flat array of keys and texts: a small `Map` per session weighs more than a typical
 * session's data, and reading a few short texts is quicker than one parse of the whole object.
 */
export class Entry {
  /** Keys and their values' JSON texts, alternating: `[key, json, key, json, …]`. */
  fields: string[]
  meta: SessionMeta | null
  userId: string | null = null
  expiresAt: number
  version = 1
  /** The store's count of insertions and moves when this entry last moved to the recent end (its LRU order). */
  moved: number

  constructor(fields: string[], meta: SessionMeta | null, expiresAt: number, moved: number) {
    this.fields = fields
    this.meta = meta
    this.expiresAt = expiresAt
    this.moved = moved
  }
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

/** The fields of a new session; keys whose value JSON drops (undefined, functions) are not stored at all, as express-session does. */
export function newFields(encoded: Array<[string, string | undefined]>): string[] {
  // the keys come from Object.keys, each once: no map is needed to merge them
  let stored = 0
  for (const [, json] of encoded) if (json !== undefined) stored++
  return laidOut(encoded, stored)
}

/**
 * The fields after a field-level write: `unset` removed, then `encoded` set, every other key kept as
 * it is (with `replace`, none is). Applied in one synchronous step, so no other write comes between.
 */
export function patchedFields(entry: Entry, unset: readonly string[], encoded: Array<[string, string | undefined]>, replace: boolean): string[] {
  const texts = new Map<string, string>()
  const fields = entry.fields
  if (!replace) for (let i = 0; i < fields.length; i += 2) texts.set(fields[i] as string, fields[i + 1] as string)
  for (const key of unset) texts.delete(key)
  for (const [key, json] of encoded) {
    if (json === undefined) texts.delete(key)
    else texts.set(key, json)
  }
  return laidOut(texts, texts.size)
}

/** The `stored` pairs with a text, as `[key, json, …]`, sized once: an array grown by push keeps room for about twice what it holds, for the entry's life. */
function laidOut(pairs: Iterable<readonly [string, string | undefined]>, stored: number): string[] {
  const fields = new Array<string>(stored * 2)
  let i = 0
  for (const [key, json] of pairs) {
    if (json === undefined) continue
    fields[i++] = key
    fields[i++] = json
  }
  return fields
}

/** The entry as a store returns it: each key's value parsed from its text, a fresh object for every read. */
export function toStored(entry: Entry): StoredSession {
  const data: SessionValues = Object.create(null)
  const fields = entry.fields
  for (let i = 0; i < fields.length; i += 2) data[fields[i] as string] = parseJson(fields[i + 1] as string)
  return toRecord('memory', { data, meta: checkMeta('memory', entry.meta), userId: entry.userId, expiresAt: entry.expiresAt, version: entry.version })
}
