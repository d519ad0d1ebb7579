import { SessionDataError, StoreUnavailableError } from '../../errors.ts'
import type { SessionPatch, StoredSession } from '../contract.ts'
import { checkKey, decodeData, encodeValues } from '../json-fields.ts'
import { parseMeta, toRecord } from '../record.ts'

/** A session from its row (data and metadata as text: parseJson reads them, never the driver's jsonb parser). */
export function toStored(row: Record<string, unknown>): StoredSession {
  const data = decodeData('postgres', row.data)
  const meta = parseMeta('postgres', row.meta)
  return toRecord('postgres', { data, meta, userId: row.user_id ?? null, expiresAt: Number(row.expires_at), version: Number(row.version) })
}

/** The parameters $1–$10 of UPDATE_SQL (statements.ts) for a patch. */
export function updateValues(id: string, patch: SessionPatch, expiresAt: number): unknown[] {
  for (const key of patch.unset) checkKey('postgres', key)
  // compat: JSON drops undefined and functions, so such a key is removed rather than kept at its old value
  const { texts, dropped } = encodeValues('postgres', patch.set)
  const unset = [...patch.unset, ...dropped]
  const meta = patch.meta === undefined ? null : JSON.stringify(patch.meta)
  return [
    id,
    Date.now(),
    expiresAt,
    JSON.stringify(texts),
    JSON.stringify(unset),
    patch.replace === true,
    meta,
    patch.meta?.absoluteExpiresAt ?? null,
    patch.userId !== undefined,
    patch.userId ?? null,
  ]
}

/** A driver error as the store reports it. */
export function unavailable(operation: string, err: unknown): StoreUnavailableError {
  const detail = err instanceof Error ? err.message : String(err)
  return new StoreUnavailableError(`postgres ${operation} failed: ${detail}`, { cause: err })
}

/**
 * SQLSTATE class 22 (data exception: text or JSON the server cannot hold or parse) and 54000/54001
 * (a value too large or too deep): one record's data, not an outage.
 */
export function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('22') || code === '54000' || code === '54001')
}

/** A query's failure as the store reports it: the data's fault (`SessionDataError`), or the server's. */
export function queryError(operation: string, err: unknown): Error {
  return isDataException(err) ? new SessionDataError(`postgres ${operation}: the server refused the data: ${(err as Error).message}`, { cause: err }) : unavailable(operation, err)
}
