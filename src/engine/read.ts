import { allCookieValues, hasCaseVariant, tryDecode } from '../cookie-header.ts'
import type { RejectReason } from '../events.ts'
import { isWellFormedId, unsignLegacy, unsignV1, type Secret } from '../signing.ts'
import type { VerifiedCookies } from './verified-cookies.ts'

/** The longest raw cookie value worth verifying: a v1 value is at most 175 characters. */
const MAX_VALUE_LENGTH = 512

/** A verified id from the cookie, and what the next response must do about the cookie. */
export interface PresentedId {
  id: string
  /** Signed by a retired secret or in express-session's format: re-issue the cookie (R4). */
  reissue: boolean
  /** `legacy`: an express-session cookie, whose session is stored under the raw id. */
  format: 'v1' | 'legacy'
  /** The store key of `id`, once computed (the middleware fills it in; cached with the rest). */
  key?: string
  /**
   * The session's server expiry as this process last saw or wrote it: while it is later than the
   * slide threshold, a read need not ask the store to slide (a plain read is cheaper, for Redis no
   * script). Only a hint: the store decides, and the end of the response touches if it was wrong.
   */
  expiresAt?: number
}

export type ReadResult = PresentedId | { rejected: RejectReason } | undefined

/**
 * Cookie header → verified id (R6–R9). Only our cookie name, byte-exact; several copies of it are
 * rejected (cookie tossing); every failure is a reason, never an exception. Returns undefined when
 * there is no cookie at all, and allocates nothing in that case.
 */
export function readSessionId(header: string | undefined, name: string, secrets: readonly Secret[], cache?: VerifiedCookies<PresentedId>): ReadResult {
  if (header === undefined || header.length === 0) return undefined
  const values = allCookieValues(header, name, 2)
  if (values.length === 0) {
    // browsers match __Host-/__Secure- case-insensitively: `__host-sid` is an attempt to slip past the prefix rules
    return name.startsWith('__') && hasCaseVariant(header, name) ? { rejected: 'prefix' } : undefined
  }
  if (values.length > 1) return { rejected: 'duplicate' }
  const raw = values[0] as string
  if (raw.length === 0) return { rejected: 'malformed' }
  if (raw.length > MAX_VALUE_LENGTH) return { rejected: 'oversize' }
  const known = cache?.get(raw)
  if (known !== undefined) return known
  const result = verify(raw, name, secrets)
  if (cache !== undefined && !('rejected' in result)) cache.set(raw, result)
  return result
}

function verify(raw: string, name: string, secrets: readonly Secret[]): PresentedId | { rejected: RejectReason } {
  if (raw.startsWith('v1.')) {
    const verified = unsignV1(raw, name, secrets)
    if (typeof verified === 'string') return { rejected: verified }
    return { id: verified.id, reissue: verified.secretIndex !== 0, format: 'v1' }
  }
  // an express-session cookie (`s:<id>.<sig>`, URL-encoded), read so that a migration keeps users logged in
  let value = raw
  if (value.charCodeAt(0) === 0x22 && value.charCodeAt(value.length - 1) === 0x22 && value.length >= 2) value = value.slice(1, -1)
  value = tryDecode(value)
  if (!value.startsWith('s:')) return { rejected: 'malformed' }
  const verified = unsignLegacy(value.slice(2), secrets)
  if (verified === undefined) return { rejected: 'bad_mac' }
  // express-session's own ids are 32 base64url characters; custom genid output may be anything it signed
  if (verified.value.length === 0 || verified.value.length > 256) return { rejected: 'malformed' }
  // an id the v1 format cannot carry (a custom genid's) keeps the legacy format: re-issued only to re-sign it with the first secret
  return { id: verified.value, reissue: isWellFormedId(verified.value) || verified.secretIndex !== 0, format: 'legacy' }
}

