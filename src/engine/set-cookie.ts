import { serializeCookie } from '../cookie.ts'
import type { CookieAttributes } from '../cookie-options.ts'
import type { SessionMeta } from '../stores/contract.ts'
import { isWellFormedId, signLegacy, signV1 } from '../signing.ts'
import { isPersistent } from './cookie-lifetime.ts'
import { maxAgeSeconds, nextExpiry } from './expiry.ts'
import type { RequestState } from './state.ts'

/** The session cookie's values as `Set-Cookie` headers (in header mode, the header's value); engine/commit.ts puts them on the response. */

const EXPIRED_COOKIE = new Date(0)

/** R21: in production `'auto'` still means Secure; a request not known to be HTTPS raises `insecure_transport` instead. */
export function cookieSecure(state: RequestState, attrs: CookieAttributes): boolean {
  if (attrs.secure !== 'auto') return attrs.secure
  return state.engine.policy.production || state.engine.isSecure(state.req)
}

/**
 * The session's signed cookie. Its expiry is the server's (R11): the one stored, or for a session
 * still to be written the one the write will give. The value is remembered as verified, so the
 * client's next request skips the HMAC and, while the expiry is fresh, the slide.
 */
export function sessionCookie(state: RequestState, attrs: CookieAttributes): string {
  const now = Date.now()
  const expiresAt = expiryToSend(state, now)
  const value = signedId(state, expiresAt)
  if (!isPersistent(state, attrs)) return serialize(state, attrs, { value, expires: undefined, maxAge: undefined })
  return serialize(state, attrs, { value, expires: new Date(expiresAt), maxAge: maxAgeSeconds(expiresAt, now) })
}

/** Header mode: the value of the id's response header, the same signed string the cookie would carry. */
export function sessionHeaderValue(state: RequestState): string {
  return signedId(state, expiryToSend(state, Date.now()))
}

/** The server's expiry of the session (R11): the one stored, or for a session still to be written the one the write will give. */
function expiryToSend(state: RequestState, now: number): number {
  const settled = state.phase === 'stored' && (state.expiryMoved || state.response === 'ended')
  return settled ? state.expiresAt : nextExpiry(state.meta as SessionMeta, state.engine.policy.idleTimeout, now)
}

/** The session's id signed with the first secret, remembered as verified with its expiry. */
function signedId(state: RequestState, expiresAt: number): string {
  const engine = state.engine
  const id = state.id as string
  const secret = engine.policy.secrets[0] as string
  // a migrated express-session id that v1 cannot carry stays in express-session's format, or the next request could not read it
  const wellFormed = isWellFormedId(id)
  const value = wellFormed ? signV1(id, engine.policy.name, secret) : 's:' + signLegacy(id, secret)
  if (wellFormed && state.key !== undefined) engine.verified.set(value, { id, reissue: false, format: 'v1', key: state.key, expiresAt })
  return value
}

/** The cookie that clears the session's (R13): empty, expired, with the same attributes. */
export function clearingCookie(state: RequestState, attrs: CookieAttributes): string {
  return serialize(state, attrs, { value: '', expires: EXPIRED_COOKIE, maxAge: 0 })
}

/** The cookie's value and lifetime; `maxAge` in seconds, as on the wire. */
interface CookieValue {
  value: string
  expires: Date | undefined
  maxAge: number | undefined
}

function serialize(state: RequestState, attrs: CookieAttributes, cookie: CookieValue): string {
  return serializeCookie(state.engine.policy.name, cookie.value, {
    path: attrs.path,
    domain: attrs.domain,
    expires: cookie.expires,
    maxAge: cookie.maxAge,
    httpOnly: attrs.httpOnly,
    secure: cookieSecure(state, attrs),
    partitioned: attrs.partitioned,
    priority: attrs.priority,
    sameSite: attrs.sameSite === 'auto' ? (state.engine.isSecure(state.req) ? 'none' : 'lax') : attrs.sameSite || undefined,
  })
}
