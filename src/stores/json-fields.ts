import { SessionDataError } from '../errors.ts'
import { isSafeEntry, isStorableText, parseJson, stringifyJson } from '../safe-json.ts'
import type { SessionValues } from './contract.ts'

/**
 * Session data as the SQL stores keep it, format 2: `[2, {"<key>": "<the value's JSON text>", …}]`.
 * Each value travels as its own JSON text, which the database sees as a plain string, so what
 * PostgreSQL's jsonb and SQLite's JSON functions cannot hold or keep never meets them: U+0000 and
 * lone surrogates in strings, nesting deeper than their limits (SQLite's is 1 000 levels), the order
 * of the keys inside a value (jsonb sorts them). Format 1, written before, is the data object itself:
 * still read, and rewritten as format 2 by the row's next update.
 */
export const DATA_FORMAT = 2

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Refuses a top-level key the SQL stores cannot hold (`SessionDataError`, before any statement). */
export function checkKey(store: string, key: string): void {
  if (!isStorableText(key)) throw new SessionDataError(`${store}: a session key must not contain U+0000 or a lone surrogate`)
}

/** Each value's JSON text by key; the keys of values JSON drops (undefined, functions) go to `dropped`. */
export function encodeValues(store: string, values: SessionValues): { texts: Record<string, string>; dropped: string[] } {
  const texts: Record<string, string> = Object.create(null)
  const dropped: string[] = []
  const prefix = `${store}: `
  for (const key of Object.keys(values)) {
    checkKey(store, key)
    const json = stringifyJson(values[key], key, prefix)
    if (json === undefined) dropped.push(key)
    else texts[key] = json
  }
  return { texts, dropped }
}

/** The stored text of a whole session's data, format 2. */
export function encodeData(store: string, values: SessionValues): string {
  return JSON.stringify([DATA_FORMAT, encodeValues(store, values).texts])
}

/** A session's data from its stored text, in either format; unreadable data is a SessionDataError. */
export function decodeData(store: string, text: unknown): SessionValues {
  if (typeof text !== 'string') throw new SessionDataError(`${store}: stored session data is not JSON text`)
  let parsed: unknown
  try {
    parsed = parseJson(text)
  } catch (err) {
    throw new SessionDataError(`${store}: stored session data is not valid JSON`, { cause: err })
  }
  const data: SessionValues = Object.create(null)
  if (isObject(parsed)) {
    for (const key of Object.keys(parsed)) data[key] = parsed[key]
    return data
  }
  const texts = Array.isArray(parsed) && parsed.length === 2 && parsed[0] === DATA_FORMAT ? (parsed[1] as unknown) : undefined
  if (!isObject(texts)) throw new SessionDataError(`${store}: stored session data has an unknown format`)
  for (const key of Object.keys(texts)) {
    const json = texts[key]
    if (typeof json !== 'string') throw new SessionDataError(`${store}: stored session value is not JSON text`)
    let value: unknown
    try {
      value = parseJson(json)
    } catch (err) {
      throw new SessionDataError(`${store}: stored session value is not valid JSON`, { cause: err })
    }
    // the rule parseJson applies at every depth, applied to the top level it did not see
    if (isSafeEntry(key, value)) data[key] = value
  }
  return data
}
