import { diagnose } from '../diagnostics.ts'
import type { CookieAttributes } from '../cookie-options.ts'
import type { SessionMeta } from '../stores/contract.ts'
import { isSameLifetime, ownLifetime } from './expiry.ts'
import type { RequestState, SessionObject } from './state.ts'

/** The cookie's lifetime: the session's own (null for a browser-session cookie), else the configured one. */
export function cookieMaxAge(state: RequestState, attrs: CookieAttributes): number | null {
  const own = state.meta?.cookieMaxAge
  return own !== undefined ? own : attrs.maxAge
}

export function isPersistent(state: RequestState, attrs: CookieAttributes): boolean {
  return cookieMaxAge(state, attrs) !== null
}

/** `req.session.cookie.maxAge = …` in this request: records the session's own lifetime in its metadata. */
export function syncCookieLifetime(state: RequestState, session: SessionObject): void {
  // compat: `maxAge = null` and `expires = false` (or null) both make a browser-session cookie, as in express-session
  const maxAge = typeof session.cookie.originalMaxAge === 'number' ? session.cookie.originalMaxAge : null
  if (isSameLifetime(maxAge, state.loadedMaxAge)) return
  const { cookieMaxAge: _previous, ...meta } = state.meta as SessionMeta
  const own = ownLifetime(maxAge)
  state.meta = own === undefined ? meta : { ...meta, cookieMaxAge: own }
  const absoluteTimeout = state.engine.policy.absoluteTimeout
  // originalMaxAge reads back the time left, a few ms under what the handler set: reported to the nearest second
  if (maxAge !== null && maxAge > absoluteTimeout) diagnose(state.engine, 'TESSERA_MAXAGE_OVER_ABSOLUTE', { maxAge: Math.round(maxAge / 1000) * 1000, absoluteTimeout })
  state.loadedMaxAge = maxAge
  state.metaDirty = true
}
