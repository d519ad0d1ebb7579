import { SessionDataError, SessionTooLargeError } from '../errors.ts'
import { isStorableText, stringifyJson } from '../safe-json.ts'
import type { SessionValues } from '../stores/contract.ts'

/**
 * The deepest nesting of arrays and objects a session value may have. A value is serialized again
 * on every request that uses its session; far below what `JSON.stringify` manages on any stack
 * (about 4 400 levels at the top of Node 24's default stack), it always serializes, whatever the
 * call depth of the code that touches it.
 */
export const MAX_DEPTH = 1000

/** What a write carries: the changed keys with copies of their values, the removed keys, and every key's JSON. */
export interface SessionDiff {
  set: SessionValues
  unset: readonly string[]
  /** Every key's JSON: the baseline once the write is stored. */
  current: ReadonlyMap<string, string>
  changed: boolean
  /**
   * The size checked against the limit: exact UTF-8 bytes once a third of the limit is passed,
   * below that the count in UTF-16 code units (a lower bound, enough to know the limit is far).
   */
  bytes: number
}

/** Whether a JSON text nests arrays and objects deeper than `limit`. */
function nestsDeeperThan(json: string, limit: number): boolean {
  // a nesting depth of d takes at least 2d characters: the usual short value needs no scan
  if (json.length <= 2 * limit) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

/** A changed value a store must never see: under a key no store can hold, or nested too deeply. */
function checkChanged(key: string, json: string): void {
  if (!isStorableText(key)) throw new SessionDataError('a session key must not contain U+0000 or a lone surrogate')
  if (nestsDeeperThan(json, MAX_DEPTH)) throw new SessionDataError(`session key ${JSON.stringify(key)} nests arrays and objects deeper than ${MAX_DEPTH} levels`)
}

/**
 * Serializes the session once and compares it key by key with `baseline`. Refused before any store
 * call: a value JSON cannot hold, or a changed value under a key stores cannot hold or nested deeper
 * than `MAX_DEPTH` (SessionDataError); a session over `maxBytes` (SessionTooLargeError). Most
 * requests change nothing: until a key differs, nothing but the JSON texts is allocated, and an
 * unchanged session's `current` is `baseline` itself.
 */
export function diffSession(session: Record<string, unknown>, baseline: ReadonlyMap<string, string>, maxBytes: number): SessionDiff {
  const keys = Object.keys(session)
  let bytes = 0
  let same = 0
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    // `cookie` is the cookie's, never stored as data
    if (key === 'cookie') continue
    const json = stringifyJson(session[key], key)
    if (json === undefined ? baseline.has(key) : baseline.get(key) !== json) return diffFrom({ session, keys, baseline, maxBytes, bytes, at: i, json })
    if (json === undefined) continue
    bytes += key.length + json.length + 4
    same++
  }
  if (same === baseline.size) return { set: NO_VALUES, unset: NO_KEYS, current: baseline, changed: false, bytes: checkSize(baseline, bytes, maxBytes) }
  return diffFrom({ session, keys, baseline, maxBytes, bytes, at: keys.length, json: undefined })
}

const NO_VALUES: SessionValues = Object.freeze(Object.create(null) as SessionValues)
const NO_KEYS: readonly string[] = Object.freeze([])

/** Where the unchanged prefix of a session ended: at `keys[at]`, whose JSON is `json` (each value is read once), or at the end, with a key removed. */
interface Scanned {
  readonly session: Record<string, unknown>
  readonly keys: readonly string[]
  readonly baseline: ReadonlyMap<string, string>
  readonly maxBytes: number
  /** The size of the keys before `at`. */
  readonly bytes: number
  readonly at: number
  readonly json: string | undefined
}

/** The diff from where `diffSession` found the first difference: the keys before it are as in `baseline`. */
function diffFrom(scanned: Scanned): SessionDiff {
  const { session, keys, baseline, at } = scanned
  let bytes = scanned.bytes
  const set: SessionValues = Object.create(null)
  const unset: string[] = []
  const current = new Map<string, string>()
  let changed = false
  for (let i = 0; i < at; i++) {
    const json = baseline.get(keys[i] as string)
    if (json !== undefined) current.set(keys[i] as string, json)
  }
  for (let i = at; i < keys.length; i++) {
    const key = keys[i] as string
    if (key === 'cookie') continue
    const json = i === at ? scanned.json : stringifyJson(session[key], key)
    if (json === undefined) continue
    current.set(key, json)
    bytes += key.length + json.length + 4
    if (baseline.get(key) !== json) {
      checkChanged(key, json)
      set[key] = JSON.parse(json) as unknown
      changed = true
    }
  }
  for (const key of baseline.keys()) {
    if (!current.has(key)) {
      unset.push(key)
      changed = true
    }
  }
  return { set, unset, current, changed, bytes: checkSize(current, bytes, scanned.maxBytes) }
}

/** The session's size (see `SessionDiff.bytes`), or SessionTooLargeError over `maxBytes`. */
function checkSize(texts: ReadonlyMap<string, string>, counted: number, maxBytes: number): number {
  let bytes = counted
  // the count so far is in UTF-16 units; a character takes up to 3 bytes in UTF-8: exact bytes when it could matter
  if (bytes * 3 > maxBytes) {
    bytes = 0
    for (const [key, json] of texts) bytes += Buffer.byteLength(key) + Buffer.byteLength(json) + 4
  }
  if (bytes > maxBytes) throw new SessionTooLargeError(bytes, maxBytes)
  return bytes
}

/** A value's JSON, or undefined when JSON drops it or cannot serialize it: its write is refused by `diffSession`, not here. */
function jsonOrNothing(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

/** Whether any key's JSON differs from `baseline`; a value that cannot be serialized counts as no change (its write is refused). */
export function hasChanges(session: Record<string, unknown>, baseline: ReadonlyMap<string, string>): boolean {
  for (const key of Object.keys(session)) {
    if (key === 'cookie') continue
    const json = jsonOrNothing(session[key])
    if (json !== undefined && json !== baseline.get(key)) return true
  }
  return false
}

/**
 * Each key's JSON as loaded: the base of dirty tracking. A value that cannot be serialized again
 * (stored by other software, nested too deeply for this stack) is left out, so a write of the
 * session is refused rather than thrown at whoever reads `req.session`.
 */
export function baselineOf(session: Record<string, unknown>): Map<string, string> {
  const baseline = new Map<string, string>()
  for (const key of Object.keys(session)) {
    if (key === 'cookie') continue
    const json = jsonOrNothing(session[key])
    if (json !== undefined) baseline.set(key, json)
  }
  return baseline
}
