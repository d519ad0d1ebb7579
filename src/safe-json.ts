import { SessionDataError } from './errors.ts'

/**
 * JSON parsing for data that comes back from a store. `JSON.parse` itself never pollutes a
 * prototype, but the objects it returns can carry an own `__proto__` key, or the
 * `constructor: { prototype: {…} }` shape, that a later deep merge in application code turns into
 * prototype pollution (ASVS 15.3.6). Those are dropped at every depth: `__proto__` always,
 * `constructor` and `prototype` when they hold an object (as plain strings or numbers they are
 * ordinary data and kept). A substring check first keeps the reviver off ordinary data.
 */
const SUSPICIOUS = /"(?:__proto__|constructor|prototype)"\s*:/

function dropPollutingKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined
  if ((key === 'constructor' || key === 'prototype') && typeof value === 'object' && value !== null) return undefined
  return value
}

/** Parses JSON, dropping prototype-polluting keys at every depth. Throws SyntaxError on bad input. */
export function parseJson(text: string): unknown {
  return SUSPICIOUS.test(text) ? JSON.parse(text, dropPollutingKeys) : JSON.parse(text)
}

/** Whether `parseJson` would keep this key and parsed value: for data parsed one value at a time. */
export function isSafeEntry(key: string, value: unknown): boolean {
  return dropPollutingKeys(key, value) !== undefined
}

/** Whether a top-level key may hold session data (`__proto__` would replace the object's prototype). */
export function isSafeKey(key: string): boolean {
  return key !== '__proto__'
}

/**
 * The JSON of a value, or undefined when JSON drops it (undefined, a function, a symbol). What JSON
 * cannot hold (a cycle, a BigInt, a getter or `toJSON` that throws, nesting deeper than the stack
 * allows) is a SessionDataError: one request's data, never a failure of the store or of the process.
 */
export function stringifyJson(value: unknown, key: string | undefined, store = ''): string | undefined {
  try {
    return JSON.stringify(value)
  } catch (err) {
    // the message is built only here: this runs for every key of every write
    const what = key === undefined ? 'the session' : `session key ${JSON.stringify(key)}`
    throw new SessionDataError(`${store}${what} cannot be stored as JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Whether every built-in store can hold a string as a session key or a user id: no U+0000, no lone surrogate. */
export function isStorableText(text: string): boolean {
  // PostgreSQL's text and jsonb cannot hold either, and SQLite's JSON paths stop at U+0000
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text)
}
