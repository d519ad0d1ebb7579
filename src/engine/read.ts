import { allCookieValues, hasCaseVariant, tryDecode } from '../cookie-header.ts'
import type { RejectReason } from '../events.ts'
import { isWellFormedId, unsignLegacy, unsignV1, type Secret } from '../signing.ts'
import type { Engine } from './engine.ts'

/** The longest raw cookie value worth verifying: a v1 value is at most 175 characters. */
const MAX_VALUE_LENGTH = 512

/** A verified id from the cookie, and what the next response must do about the cookie. */
export interface PresentedId {
  readonly id: string
  /** Signed by a retired secret or in express-session's format: re-issue the cookie (R4). */
  readonly reissue: boolean
  /** `legacy`: an express-session cookie, whose session is stored under the raw id. */
  readonly format: 'v1' | 'legacy'
}

/**
 * The presented id as one request holds it: a fresh object, never shared with another request nor
 * with the cache, which keeps what it learns (the expiry hint) in its own entry.
 */
export interface Presented extends PresentedId {
  /** The cookie value as sent: the cache's key for this id. */
  readonly value: string
  /** The key the session is stored under: a hash of the id (R5), or the raw id of an express-session record. */
  readonly key: string
  /** The cache's expiry hint when the request was read (see `KnownCookie`). */
  readonly expiresAt: number | undefined
}

export type Rejected = { readonly rejected: RejectReason }
export type ReadResult = PresentedId | Rejected | undefined

/**
 * Cookie header → verified id (R6–R9). Only our cookie name, byte-exact; several copies of it are
 * rejected (cookie tossing); every failure is a reason, never an exception. Returns undefined when
 * there is no cookie at all, and allocates nothing in that case.
 */
export function readSessionId(header: string | undefined, name: string, secrets: readonly Secret[]): ReadResult {
  const raw = ourCookieValue(header, name)
  return typeof raw === 'string' ? verify(raw, name, secrets) : raw
}

/**
 * `readSessionId` for a request of `engine`: a value verified before skips the HMAC and the store-key
 * hash (the engine's cache), and the answer carries the store key and the cache's expiry hint.
 */
export function readPresented(header: string | undefined, engine: Engine): Presented | Rejected | undefined {
  const raw = ourCookieValue(header, engine.policy.name)
  return typeof raw === 'string' ? presentedOf(raw, engine) : raw
}

/**
 * Header mode: the value of the id's request header (`req.headers[field]`) → a presented id, as
 * `readPresented` gives it for the cookie. Only the `v1.` format: express-session never sent a header.
 * An absent or empty header (what `destroy()` answered with) is no id; several, or anything
 * malformed, a rejection.
 */
export function readPresentedHeader(value: string | string[] | undefined, engine: Engine): Presented | Rejected | undefined {
  if (value === undefined || value.length === 0) return undefined
  // Node joins a repeated field with ", " (RFC 9110 §5.3), and a v1 value holds no comma
  if (typeof value !== 'string' || value.includes(',')) return { rejected: 'duplicate' }
  if (value.length > MAX_VALUE_LENGTH) return { rejected: 'oversize' }
  if (!value.startsWith('v1.')) return { rejected: 'malformed' }
  return presentedOf(value, engine)
}

/** A raw value → presented id, verified once per value (the engine's cache). */
function presentedOf(raw: string, engine: Engine): Presented | Rejected {
  const policy = engine.policy
  let known = engine.verified.get(raw)
  if (known === undefined) {
    const result = verify(raw, policy.name, policy.secrets)
    if ('rejected' in result) return result
    // express-session's records are stored under the raw id; ours under a hash of it (R5)
    const key = result.format === 'legacy' ? result.id : engine.storeKey(result.id)
    known = { id: result.id, reissue: result.reissue, format: result.format, key, expiresAt: undefined }
    engine.verified.set(raw, known)
  }
  return { value: raw, id: known.id, reissue: known.reissue, format: known.format, key: known.key, expiresAt: known.expiresAt }
}

/** The raw value of our cookie, a rejection, or undefined when the header has none. */
function ourCookieValue(header: string | undefined, name: string): string | Rejected | undefined {
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
  return raw
}

function verify(raw: string, name: string, secrets: readonly Secret[]): PresentedId | Rejected {
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

