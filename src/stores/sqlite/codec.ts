import type { SessionPatch, StoredSession } from '../contract.ts'
import { decodeData, encodeValues } from '../json-fields.ts'
import { parseMeta, toRecord } from '../record.ts'
import { pathOf, type UpdateShape } from './statements.ts'

/** A session row as the store's statements select it. */
export interface Row {
  data: string
  meta: string | null
  user_id: string | null
  expires_at: number
  version: number
}

/** A session from its row. */
export function toStored(row: Row): StoredSession {
  const data = decodeData('sqlite', row.data)
  return toRecord('sqlite', { data, meta: parseMeta('sqlite', row.meta), userId: row.user_id, expiresAt: row.expires_at, version: row.version })
}

/** Whether a read's slide may move the record's expiry: the throttle (`slideIfBefore`) allows it and it goes forwards. */
export function isSlideDue(stored: StoredSession, slideTo: number, slideIfBefore: number | undefined): boolean {
  return slideTo > stored.expiresAt && (slideIfBefore === undefined || stored.expiresAt < slideIfBefore)
}

/** A patch as an update statement takes it: its shape, and its parameters but the last three (id, now, version). */
export function updateParams(patch: SessionPatch, expiresAt: number, checksVersion: boolean): { unset: number; set: number; shape: UpdateShape; params: Array<string | number | null> } {
  const { texts, dropped } = encodeValues('sqlite', patch.set)
  const unsetPaths = [...dropped, ...patch.unset].map(pathOf)
  const keys = Object.keys(texts)
  const params: Array<string | number | null> = [...unsetPaths]
  for (const key of keys) params.push(pathOf(key), texts[key] as string)
  // the expiry index is written only when the expiry moves: an update that leaves it writes one page instead of three
  const expiry = patch.keepExpiry !== true
  if (expiry) params.push(expiresAt)
  if (patch.meta !== undefined) params.push(JSON.stringify(patch.meta), patch.meta.absoluteExpiresAt ?? null)
  if (patch.userId !== undefined) params.push(patch.userId)
  const shape = { replace: patch.replace === true, expiry, meta: patch.meta !== undefined, user: patch.userId !== undefined, version: checksVersion }
  return { unset: unsetPaths.length, set: keys.length, shape, params }
}

// SQLITE_TOOBIG, and the JSON functions' errors ("malformed JSON" in a row written by other software): one record's data, not an outage
export function isDataError(err: unknown): boolean {
  return (err as { errcode?: unknown } | null)?.errcode === 18 || /\bJSON\b/i.test(String((err as Error | null)?.message))
}
