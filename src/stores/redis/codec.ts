import { SessionDataError } from '../../errors.ts'
import { isStorableText, parseJson, stringifyJson } from '../../safe-json.ts'
import type { SessionMeta, SessionValues, StoredSession } from '../contract.ts'
import { toRecord } from '../record.ts'
import { metaText, parseMetaText } from './meta.ts'

/** Epoch ms as Redis takes it (an integer). */
export function ms(at: number): string {
  return String(Math.floor(at))
}

/** A flat script reply as strings (a client may be set to answer Buffers or RESP3 numbers). */
export function strings(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map((item) => (item == null ? '' : String(item))) : [String(reply ?? '')]
}

/** The latest expiry a session may reach: its absolute deadline, when it has one past `expiresAt`. */
export function latestExpiry(expiresAt: number, meta: SessionMeta | null): string {
  const absolute = meta?.absoluteExpiresAt
  return ms(typeof absolute === 'number' && Number.isFinite(absolute) && absolute > expiresAt ? absolute : expiresAt)
}

function parseField(field: string, json: string): unknown {
  try {
    return parseJson(json)
  } catch (err) {
    throw new SessionDataError(`redis: session field ${JSON.stringify(field)} is not valid JSON`, { cause: err })
  }
}

/** A session read field by field from a hash reply (see `decode`). */
class Fields {
  readonly data: SessionValues = Object.create(null)
  meta: SessionMeta | null = null
  userId: string | null = null
  version = Number.NaN
  expiresAt = Number.NaN
  empty = true
  /** A tombstone: the key of a destroyed session. */
  destroyed = false

  add(field: string, value: string): void {
    this.empty = false
    if (field.startsWith('d:')) this.data[field.slice(2)] = parseField(field, value)
    else if (field === '_v') this.version = Number(value)
    else if (field === '_e') this.expiresAt = Number(value)
    else if (field === '_m') this.meta = parseMetaText(value)
    else if (field === '_u') this.userId = value
    else if (field === '_d') this.destroyed = true
  }
}

/**
 * A session hash as its reply comes (node-redis: an object or a Map; ioredis and RESP2 raw
 * replies: a flat field/value array), read in one pass; null for an empty reply (no such key) and a tombstone.
 */
export function decode(reply: unknown): StoredSession | null {
  const fields = new Fields()
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.add(String(reply[i]), String(reply[i + 1]))
  } else if (reply instanceof Map) {
    for (const [field, value] of reply) fields.add(String(field), String(value))
  } else if (typeof reply === 'object' && reply !== null) {
    const object = reply as Record<string, unknown>
    for (const field of Object.keys(object)) fields.add(field, String(object[field]))
  }
  if (fields.empty || fields.destroyed) return null
  return toRecord('redis', fields)
}

/** Appends `d:<key>` / JSON pairs to `pairs`, or the field to `deleted` when JSON has no value for it. */
export function encodeData(values: SessionValues, pairs: string[], deleted: string[]): void {
  for (const key of Object.keys(values)) {
    // a lone surrogate has no UTF-8 form (the client would store U+FFFD, another key); U+0000 is refused as by every store
    if (!isStorableText(key)) throw new SessionDataError('redis: a session key must not contain U+0000 or a lone surrogate')
    const json = stringifyJson(values[key], key, 'redis: ')
    // compat: JSON drops undefined and functions, so such a key is not stored at all
    if (json === undefined) deleted.push(`d:${key}`)
    else pairs.push(`d:${key}`, json)
  }
}

/** Appends the `_m`/`_a` pairs of `meta`, or `_a` to `deleted` when there is no finite absolute deadline. */
export function encodeMeta(meta: SessionMeta, pairs: string[], deleted: string[]): void {
  pairs.push('_m', metaText(meta))
  if (Number.isFinite(meta.absoluteExpiresAt)) pairs.push('_a', ms(meta.absoluteExpiresAt))
  else deleted.push('_a')
}
