import { debug } from '../debug.ts'
import type { Session } from '../express-store.ts'
import type { CompatState } from './state.ts'

/** express-session's own decisions, under its own names, read from one request's state. */

/**
 * compat: express-session's change detector: the JSON of the session without its top-level
 * `cookie`. Compared as strings rather than sha1 digests: the same decision, one step less.
 */
export function snapshot(sess: Record<string, unknown>): string {
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(sess)) if (key !== 'cookie') copy[key] = sess[key]
  return JSON.stringify(copy)
}

export function isModified(state: CompatState, sess: Session): boolean {
  return state.originalId !== sess.id || state.originalHash !== snapshot(sess)
}

export function isSaved(state: CompatState, sess: Session): boolean {
  return state.originalId === sess.id && state.savedHash === snapshot(sess)
}

export function shouldDestroy(state: CompatState): boolean {
  return Boolean(state.req.sessionID) && state.settings.unsetDestroy && state.req.session == null
}

export function shouldSave(state: CompatState): boolean {
  const req = state.req
  if (typeof req.sessionID !== 'string') {
    debug('session ignored because of bogus req.sessionID')
    return false
  }
  return !state.settings.saveUninitialized && !state.savedHash && state.cookieId !== req.sessionID
    ? isModified(state, req.session as Session)
    : !isSaved(state, req.session as Session)
}

/** express-session's `shouldTouch` once `shouldSave()` said no: the same decision without serializing the session again. */
export function shouldTouch(state: CompatState): boolean {
  const req = state.req
  return state.settings.storeImplementsTouch && typeof req.sessionID === 'string' && state.cookieId === req.sessionID
}

export function shouldSetCookie(state: CompatState): boolean {
  const req = state.req
  if (typeof req.sessionID !== 'string') return false
  const sess = req.session as Session
  return state.cookieId !== req.sessionID
    ? state.settings.saveUninitialized || isModified(state, sess)
    : state.settings.rolling || (sess.cookie.expires != null && isModified(state, sess))
}
