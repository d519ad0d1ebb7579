import type { ClientCookie, Phase } from './state.ts'

/**
 * The main entry's decisions, as express-session names its own (`shouldSave`, `shouldTouch`,
 * `shouldDestroy`, `shouldSetCookie`): facts in, a decision out. engine/plan.ts gathers the facts
 * from a request; nothing here reads a request, a store or the clock.
 */

/** How the handler left `req.session`: never read, set to null or destroyed, or there. */
export type SessionUse = 'unused' | 'removed' | 'present'

/** What the store is asked to do for the session. */
export type Write = 'none' | 'create' | 'update' | 'touch'

/** What the end of the response does: nothing, the destroy `unset: 'destroy'` asks for, or the write the session needs (`decideWrite`). */
export type EndWrite = 'none' | 'destroy' | 'pending'

/** What the response's headers carry: the session's cookie, the clearing cookie, or neither. */
export type CookieAction = 'set' | 'clear' | 'none'

/** Whether the end of the response may write at all, and what `req.session = null` asks for. */
export interface EndFacts {
  readonly failed: boolean
  readonly readOnly: boolean
  readonly phase: Phase
  readonly session: SessionUse
  /** The `unset: 'destroy'` option. */
  readonly unsetDestroy: boolean
}

/** What a write decision reads. */
export interface WriteFacts {
  readonly phase: Phase
  readonly session: SessionUse
  /** The one-pass diff found a key set, changed or removed. */
  readonly changed: boolean
  /** The metadata differs from what the store holds. */
  readonly metaDirty: boolean
  /** `login()` changed the session's owner. */
  readonly ownerChanged: boolean
  /** A user is signed in: the user id is the session's content. */
  readonly signedIn: boolean
  readonly saveUninitialized: boolean
  /** The headers went out without this session's cookie: a session created now would be an orphan. */
  readonly headersSentWithoutCookie: boolean
  readonly touchRequested: boolean
  /** A slide made now would move the expiry by more than `touchAfter`. */
  readonly slideDue: boolean
  readonly expiryMoved: boolean
  /** The headers still wait for the store: a re-sent cookie goes out only once a touch confirmed its session. */
  readonly confirm: boolean
}

/** What the header-time decision reads besides its deferred facts. */
export interface CookieFacts extends EndFacts {
  readonly clientCookie: ClientCookie
  /** A renewal or migration moved the session to a new id in this request. */
  readonly replaced: boolean
  /** The session's id is not the one the client presented. */
  readonly isNew: boolean
  /** The end-of-response write has been carried out. */
  readonly ended: boolean
  readonly expiryMoved: boolean
}

/** What `shouldRefreshCookie` reads. */
export interface RefreshFacts {
  readonly readOnly: boolean
  /** The session is the one the client presented (not a new or a successor's id). */
  readonly presentedSession: boolean
  /** The presented cookie is to be re-signed (a retired secret, express-session's format). */
  readonly reissue: boolean
  readonly rolling: boolean
  readonly expiryMoved: boolean
}

/**
 * Facts a decision asks for only when it gets to them, in the order it does: finding them out
 * costs work (serializing the session, resolving the cookie's attributes), and `kindChanged`
 * records the handler's cookie lifetime, which `persistent` then reads.
 */
export interface Deferred<C> {
  /** The cookie is persistent (has an expiry), rather than a browser-session cookie. */
  persistent(context: C): boolean
  /** `shouldRefreshCookie` of the context. */
  refreshes(context: C): boolean
  /** The handler turned the cookie from persistent to browser-session or back. */
  kindChanged(context: C): boolean
  /** The end of the response will create the session. */
  willCreate(context: C): boolean
  /** The end of the response will write the session (create, update or touch). */
  willWrite(context: C): boolean
}

/** At the end of the response: a failed or read-only request writes nothing; a removed session is destroyed only with `unset: 'destroy'`. */
export function endWrite(f: EndFacts): EndWrite {
  if (f.failed || f.readOnly) return 'none'
  if (f.session !== 'removed') return 'pending'
  return shouldDestroy(f) ? 'destroy' : 'none'
}

/** `req.session = null` with `unset: 'destroy'` deletes a stored session. */
export function shouldDestroy(f: EndFacts): boolean {
  return f.session === 'removed' && f.unsetDestroy && f.phase === 'stored'
}

/** A new session is stored once it holds data or a user, or always with `saveUninitialized`, unless its cookie can no longer be sent. */
export function shouldCreate(f: WriteFacts): boolean {
  if (f.session !== 'present' || f.phase === 'stored' || f.phase === 'gone') return false
  return (f.changed || f.signedIn || f.saveUninitialized) && !f.headersSentWithoutCookie
}

/** A stored session is updated when its data, metadata or owner changed (only the metadata when the handler never read it). */
export function shouldUpdate(f: WriteFacts): boolean {
  if (f.phase !== 'stored') return false
  return f.metaDirty || (f.session === 'present' && (f.changed || f.ownerChanged))
}

/**
 * A stored session is touched when its slide is due (or `touch()` asked for one) and nothing moved
 * its expiry yet, or, with `confirm`, when the response re-sends the presented cookie: that cookie
 * goes out only once the store has found the session still there, or a logout that completed while
 * this request ran would get the dead id back.
 */
export function shouldTouch<C>(f: WriteFacts, deferred: Pick<Deferred<C>, 'refreshes'>, context: C): boolean {
  if (f.phase !== 'stored') return false
  return ((f.touchRequested || f.slideDue) && !f.expiryMoved) || (f.confirm && deferred.refreshes(context))
}

/** The write the session needs now (by `save()`, or at the end of the response): create, update, touch or none. */
export function decideWrite<C>(f: WriteFacts, deferred: Pick<Deferred<C>, 'refreshes'>, context: C): Write {
  if (f.phase === 'gone' || f.session === 'removed') return 'none'
  if (shouldCreate(f)) return 'create'
  if (shouldUpdate(f)) return 'update'
  return shouldTouch(f, deferred, context) ? 'touch' : 'none'
}

/** The response re-sends the presented session's cookie: rolling, a re-signed cookie, or a persistent cookie whose expiry moved. */
export function shouldRefreshCookie<C>(f: RefreshFacts, deferred: Pick<Deferred<C>, 'persistent'>, context: C): boolean {
  if (f.readOnly || !f.presentedSession) return false
  return f.reissue || f.rolling || (f.expiryMoved && deferred.persistent(context))
}

/**
 * At header time: the session's cookie when the session is new and will be stored (or was), or
 * when the presented one must be refreshed; the clearing cookie after a destroy, or when the
 * cookie the client sent names a session this request replaced (or, in header mode, none at all).
 */
export function shouldSetCookie<C>(f: CookieFacts, deferred: Deferred<C>, context: C): CookieAction {
  if (f.failed || f.phase === 'gone') return 'none'
  const action = sessionCookieAction(f, deferred, context)
  // header mode: an id that led to no session is answered empty, unless a new session replaces it
  return action === 'none' && f.clientCookie === 'dead' ? 'clear' : action
}

function sessionCookieAction<C>(f: CookieFacts, deferred: Deferred<C>, context: C): CookieAction {
  const sent = f.clientCookie !== 'none'
  if (f.session === 'removed') {
    if ((f.phase === 'destroyed' || endWrite(f) === 'destroy') && sent) return 'clear'
    // kept, but moved to a new id in this request (renewal, migration): the client's old id leads there only for the grace
    return f.phase === 'stored' && f.replaced ? 'set' : 'none'
  }
  if (f.phase !== 'stored' && f.session === 'unused') return 'none'
  if (f.isNew ? f.phase === 'stored' || deferred.willCreate(context) : refreshesAtHeaders(f, deferred, context)) return 'set'
  return (f.phase === 'destroyed' && sent) || f.clientCookie === 'stale' ? 'clear' : 'none'
}

/**
 * The presented session's cookie goes out again: refreshed once the end of the response confirmed
 * the session, switched between persistent and browser-session, or persistent with an expiry that
 * moved (or will move at the end of the response). A read-only request, or one whose headers leave
 * before the end, leaves it to a later response.
 */
function refreshesAtHeaders<C>(f: CookieFacts, deferred: Deferred<C>, context: C): boolean {
  if (f.ended && deferred.refreshes(context)) return true
  if (deferred.kindChanged(context)) return true
  return deferred.persistent(context) && (f.expiryMoved || (!f.ended && deferred.willWrite(context)))
}
