import { MAX_COOKIE_LIFETIME } from '../cookie-options.ts'
import type { Policy } from '../options.ts'
import type { GetOptions, SessionMeta, StoredSession } from '../stores/contract.ts'

/**
 * Every deadline of a session, computed from values: the idle window and its slide, the absolute
 * deadline, the judgement of a loaded record, the correction of timestamps from a clock that was
 * ahead, renewal and retirement. Nothing here reads the clock or the request: `now` is an argument.
 */

/** A session's metadata and expiry. */
export interface Deadlines {
  meta: SessionMeta
  expiresAt: number
}

/** Why a loaded record is not used (R10), or `'live'`. */
export type Verdict = 'live' | 'idle' | 'absolute' | 'revoked'

/** The policy's durations this module reads. */
export type Timeouts = Pick<Policy, 'idleTimeout' | 'absoluteTimeout' | 'touchAfter' | 'renewalGrace' | 'renewAfter' | 'revokedBefore'>

/** The metadata of a session that starts now: its absolute deadline runs from now. */
export function freshMeta(now: number, policy: Pick<Timeouts, 'idleTimeout' | 'absoluteTimeout'>): SessionMeta {
  return { createdAt: now, absoluteExpiresAt: now + policy.absoluteTimeout, idleTimeout: policy.idleTimeout }
}

/** The expiry a write or slide made at `now` gives: the session's window from now, never past the absolute deadline. */
export function nextExpiry(meta: SessionMeta, idleTimeout: number, now: number): number {
  return Math.min(now + (meta.cookieMaxAge ?? idleTimeout), meta.absoluteExpiresAt)
}

/** Whether moving the expiry from `current` to `next` is worth a write: only once it moved by more than `touchAfter`. */
export function isSlideDue(current: number, next: number, touchAfter: number): boolean {
  return next - current > touchAfter
}

/**
 * The slide a read asks the store for (see `GetOptions`), or undefined when the expiry this process
 * last saw (`known`) is still past the threshold: a plain read is cheaper, and the store decides anyway.
 */
export function slideOnRead(now: number, known: number | undefined, policy: Pick<Timeouts, 'idleTimeout' | 'touchAfter'>): Required<GetOptions> | undefined {
  const slideIfBefore = now + policy.idleTimeout - policy.touchAfter
  if (known !== undefined && known >= slideIfBefore) return undefined
  return { slideTo: now + policy.idleTimeout, slideIfBefore }
}

/** Whether the store slid the record it returned: it asks for a slide and the record's expiry was before the threshold. */
function slid(record: StoredSession, slide: Required<GetOptions> | undefined): slide is Required<GetOptions> {
  return slide !== undefined && record.expiresAt < slide.slideIfBefore
}

/**
 * The expiry the read's slide gave the record (stores return the expiry before the slide), or
 * undefined when it did not move it. A session with a cookie lifetime of its own is not counted as
 * slid: the store used the policy's window, and `needsOwnSlide` puts its own back.
 */
export function expiryAfterRead(record: StoredSession, slide: Required<GetOptions> | undefined): number | undefined {
  if (!slid(record, slide) || record.meta?.cookieMaxAge != null) return undefined
  return Math.min(slide.slideTo, record.meta?.absoluteExpiresAt ?? slide.slideTo)
}

/** The read slid, by the policy's idle window, a session whose cookie has a lifetime of its own: the response must touch it. */
export function needsOwnSlide(record: StoredSession, slide: Required<GetOptions> | undefined): boolean {
  return slid(record, slide) && record.meta?.cookieMaxAge != null
}

/**
 * 'live', or why a stored session must not be used (R10): the store's TTL is not trusted alone.
 * `revokedBefore` is the app's function (R14), asked only for a record it could end.
 */
export function judge(record: StoredSession, now: number, policy: Timeouts): Verdict {
  const meta = record.meta
  if (meta !== null && (now >= meta.absoluteExpiresAt || now >= meta.createdAt + policy.absoluteTimeout)) return 'absolute'
  if (meta !== null && policy.revokedBefore !== undefined && meta.createdAt < policy.revokedBefore()) return 'revoked'
  if (record.expiresAt <= now) return 'idle'
  // a record a renewal replaced reads for the grace period only: the read's slide must not extend it
  if (meta?.retiredAt !== undefined && now >= meta.retiredAt + policy.renewalGrace) return 'idle'
  if (meta !== null && record.expiresAt < meta.absoluteExpiresAt) {
    // the idle window may have been shortened since the record was written
    const lastSeen = record.expiresAt - (meta.cookieMaxAge ?? meta.idleTimeout)
    if (lastSeen + (meta.cookieMaxAge ?? policy.idleTimeout) <= now) return 'idle'
  }
  return 'live'
}

/**
 * Timestamps written by a clock that was ahead (since moved back, or another host's) count as now:
 * elapsed time is never negative, so the idle window and the absolute deadline run from now at the
 * latest, never later than stored. Undefined when nothing needs correcting; a skew within
 * `touchAfter` (hosts a little apart) is left alone, so that it does not cost a write per request.
 */
export function correctFuture(stored: Deadlines, now: number, policy: Pick<Timeouts, 'idleTimeout' | 'absoluteTimeout' | 'touchAfter'>): Deadlines | undefined {
  const { meta, expiresAt } = stored
  const limit = now + policy.touchAfter
  const window = meta.cookieMaxAge ?? policy.idleTimeout
  // the last activity is the expiry less the window it was computed with
  if (isNotAfter(meta.createdAt, limit) && isNotAfter(meta.renewedAt, limit) && isNotAfter(meta.authTime, limit) && isNotAfter(meta.retiredAt, limit) && expiresAt - window <= limit) {
    return undefined
  }
  const createdAt = Math.min(meta.createdAt, now)
  const corrected: SessionMeta = { ...meta, createdAt, absoluteExpiresAt: Math.min(meta.absoluteExpiresAt, createdAt + policy.absoluteTimeout) }
  if (meta.renewedAt !== undefined) corrected.renewedAt = Math.min(meta.renewedAt, now)
  if (meta.authTime !== undefined) corrected.authTime = Math.min(meta.authTime, now)
  if (meta.retiredAt !== undefined) corrected.retiredAt = Math.min(meta.retiredAt, now)
  return { meta: corrected, expiresAt: Math.min(expiresAt, now + window, corrected.absoluteExpiresAt) }
}

function isNotAfter(at: number | undefined, limit: number): boolean {
  return at === undefined || at <= limit
}

/** Whether a session of the main entry is due for a new id (R12): its id is older than `renewAfter`. */
export function isRenewalDue(meta: SessionMeta | null, now: number, renewAfter: number | undefined): boolean {
  if (renewAfter === undefined || meta === null) return false
  return now - (meta.renewedAt ?? meta.createdAt) >= renewAfter
}

/** How long a record a renewal replaced stays readable: the grace period, never past its absolute deadline. */
export function retiredExpiry(meta: SessionMeta, now: number, renewalGrace: number): number {
  return Math.min(now + renewalGrace, meta.absoluteExpiresAt)
}

/**
 * Whether the cookie lifetime a handler left on `req.session.cookie` is the one it had: setting
 * `maxAge` makes `originalMaxAge` the time left, a few ms under the value set, so within a second counts as unchanged.
 */
export function isSameLifetime(maxAge: number | null, before: number | null | undefined): boolean {
  return maxAge === before || (typeof maxAge === 'number' && typeof before === 'number' && Math.abs(maxAge - before) < 1000)
}

/**
 * The lifetime a session keeps for the `maxAge` its handler set: null (a browser-session cookie),
 * whole milliseconds up to browsers' 400-day cap, or undefined (0, negative, not finite) for the configured cookie's.
 */
export function ownLifetime(maxAge: number | null): number | null | undefined {
  if (maxAge === null) return null
  return Number.isFinite(maxAge) && maxAge > 0 ? Math.min(Math.floor(maxAge), MAX_COOKIE_LIFETIME) : undefined
}

/** A persistent cookie's `Max-Age` (whole seconds, rounded up, never negative) for a session that expires at `expiresAt`. */
export function maxAgeSeconds(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 1000))
}

/**
 * When a session was last used, read from its stored expiry: every write or slide sets the expiry to
 * "then + the idle window", so the expiry minus that window is the time of the last one. Reads slide
 * at most every `touchAfter`, so the answer is that fresh. Capped by the absolute deadline, the expiry
 * no longer moves: in that last window the answer is the deadline minus the window, a lower bound.
 * Never before the session's creation, never after `now`; undefined without the engine's metadata.
 */
export function lastSeenAt(expiresAt: number, meta: SessionMeta | null, idleTimeout: number, now: number): number | undefined {
  if (meta === null) return undefined
  const window = meta.cookieMaxAge ?? idleTimeout
  return Math.min(now, Math.max(meta.createdAt, expiresAt - window))
}
