import { SessionDataError } from '../errors.ts'
import { parseJson } from '../safe-json.ts'
import type { SessionMeta, SessionValues, StoredSession } from './contract.ts'

/**
 * The one parser and validator of what a store reads back: every built-in store turns its row, hash
 * or entry into a `StoredSession` here, so they all trust and refuse the same records. A record the
 * engine cannot judge is a `SessionDataError` (the engine raises `malformed_data` and treats the
 * session as missing), never a record that silently skips a deadline.
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const isFiniteNumber = Number.isFinite as (value: unknown) => value is number

function optionalTime(value: unknown): boolean {
  return value === undefined || isFiniteNumber(value)
}

function optionalText(value: unknown): boolean {
  return value === undefined || typeof value === 'string'
}

/**
 * Why `value` is not session metadata, or undefined when it is. Every read of every store runs it,
 * so each field is read by name (a loop over field names costs several times more per record).
 */
function metaFault(value: unknown): string | undefined {
  if (!isObject(value)) return 'is not an object'
  const meta = value as Partial<Record<keyof SessionMeta, unknown>>
  // a record without its deadlines would skip the absolute timeout and revokedBefore: never trusted
  if (!isFiniteNumber(meta.createdAt)) return 'has no finite createdAt'
  if (!isFiniteNumber(meta.absoluteExpiresAt)) return 'has no finite absoluteExpiresAt'
  if (!isFiniteNumber(meta.idleTimeout)) return 'has no finite idleTimeout'
  if (!optionalTime(meta.authTime)) return 'has an authTime that is not a finite number'
  if (!optionalTime(meta.renewedAt)) return 'has a renewedAt that is not a finite number'
  if (!optionalTime(meta.retiredAt)) return 'has a retiredAt that is not a finite number'
  if (!optionalText(meta.client)) return 'has a client that is not text'
  if (!optionalText(meta.binding)) return 'has a binding that is not text'
  const maxAge = meta.cookieMaxAge
  if (maxAge !== undefined && maxAge !== null && !isFiniteNumber(maxAge)) return 'has a cookieMaxAge that is neither null nor a finite number'
  return undefined
}

/**
 * Session metadata as a store holds it: `null` (a session written without the engine's metadata, by
 * express-session's face), or an object with every field the engine judges by, each of its type.
 * Unknown fields are kept, so a record written by a later version survives a rolling upgrade.
 */
export function checkMeta(store: string, value: unknown): SessionMeta | null {
  if (value === null) return null
  const fault = metaFault(value)
  if (fault !== undefined) throw new SessionDataError(`${store}: stored session metadata ${fault}`)
  return value as unknown as SessionMeta
}

/** Session metadata from its stored JSON text (`null` for none): `checkMeta` of what it parses to. */
export function parseMeta(store: string, text: unknown): SessionMeta | null {
  if (text === null) return null
  if (typeof text !== 'string') throw new SessionDataError(`${store}: stored session metadata is not JSON text`)
  let value: unknown
  try {
    value = parseJson(text)
  } catch (err) {
    throw new SessionDataError(`${store}: stored session metadata is not valid JSON`, { cause: err })
  }
  return checkMeta(store, value)
}

/**
 * Metadata as `listByUser` lists it: unreadable metadata lists the session with none (`null`), so one
 * damaged record neither hides a session from its owner nor fails the whole list; its owner can still
 * revoke it, and a load of it is `malformed_data` all the same.
 */
export function listedMeta(read: () => SessionMeta | null): SessionMeta | null {
  try {
    return read()
  } catch {
    return null
  }
}

/** The parts of a record a store has read, data and metadata already parsed. */
export interface RecordParts {
  data: SessionValues
  meta: SessionMeta | null
  userId: unknown
  expiresAt: unknown
  version: unknown
}

/** A stored session, checked: a finite expiry, a version from 1, an owner that is text or none. */
export function toRecord(store: string, parts: RecordParts): StoredSession {
  const { expiresAt, version, userId } = parts
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) throw new SessionDataError(`${store}: stored session has no valid expiry`)
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new SessionDataError(`${store}: stored session has no valid version`)
  if (userId !== null && typeof userId !== 'string') throw new SessionDataError(`${store}: stored session owner is not text`)
  return { data: parts.data, meta: parts.meta, userId, expiresAt, version }
}
