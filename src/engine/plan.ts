import { kKeepsExpiry, type SessionMeta } from '../stores/contract.ts'
import { cookieMaxAge, isPersistent, syncCookieLifetime } from './cookie-lifetime.ts'
import {
  decideWrite,
  endWrite,
  shouldRefreshCookie,
  shouldSetCookie,
  type CookieAction,
  type CookieFacts,
  type Deferred,
  type EndFacts,
  type RefreshFacts,
  type SessionUse,
  type WriteFacts,
} from './decide.ts'
import { diffSession, hasChanges, type SessionDiff } from './dirty.ts'
import { isSlideDue, nextExpiry } from './expiry.ts'
import type { WritePlan } from './persist.ts'
import { cookieAttributesOf, type RequestState, type SessionObject } from './state.ts'

/**
 * From a request's state to the decisions of decide.ts and back: gathers the facts, asks, and turns
 * the answer into a write plan for persist.ts or a cookie action for commit.ts.
 */

const DESTROY: WritePlan = { kind: 'destroy' }

/** The facts decide.ts asks for only when it needs them, found out from the request's state. */
const DEFERRED: Deferred<RequestState> = {
  // header mode: the header carries no expiry, so nothing is re-sent when the expiry moves or the lifetime's kind changes
  persistent: (state) => state.engine.policy.header === undefined && isPersistent(state, cookieAttributesOf(state)),
  refreshes: (state) => shouldRefreshCookie(refreshFacts(state), DEFERRED, state),
  kindChanged,
  willCreate,
  willWrite: (state) => planEndWrite(state, false) !== undefined,
}

function useOf(session: SessionObject | null | undefined): SessionUse {
  if (session === undefined) return 'unused'
  return session === null ? 'removed' : 'present'
}

function endFacts(state: RequestState): EndFacts {
  return {
    failed: state.response === 'failed',
    readOnly: state.readOnly,
    phase: state.phase,
    session: useOf(state.session),
    unsetDestroy: state.engine.policy.unsetDestroy,
  }
}

/** What the end of the response writes; `confirm`: the headers still wait for the store (see `shouldTouch`). */
export function planEndWrite(state: RequestState, confirm: boolean): WritePlan | undefined {
  const end = endWrite(endFacts(state))
  if (end === 'pending') return planWrite(state, confirm)
  return end === 'destroy' ? DESTROY : undefined
}

/** The write the session needs now (create, update or touch), or undefined; data no store can hold is a refused plan. */
export function planWrite(state: RequestState, confirm: boolean): WritePlan | undefined {
  // destroyed by another request meanwhile (an update answered 'gone'): nothing more is written, ever
  if (state.phase === 'gone') return undefined
  const session = state.session
  const policy = state.engine.policy
  const now = Date.now()
  let diff: SessionDiff | undefined
  if (session) {
    try {
      diff = diffSession(session, state.baseline, policy.maxSessionBytes)
    } catch (error) {
      // data no store can hold, or too much of it: refused before any store call, never thrown from a response hook
      return { kind: 'refused', error }
    }
    syncCookieLifetime(state, session)
  }
  const next = state.phase === 'stored' ? nextExpiry(state.meta as SessionMeta, policy.idleTimeout, now) : now
  const facts = writeFacts(state, diff, next, confirm)
  switch (decideWrite(facts, DEFERRED, state)) {
    case 'create':
      return { kind: 'create', data: (diff as SessionDiff).set, serialized: (diff as SessionDiff).current, now }
    case 'update': {
      const expiry = { expiresAt: next, keepExpiry: keepsExpiry(state, facts, next) }
      // never accessed: only metadata a migrated or corrected session still lacks
      if (diff === undefined) return { kind: 'update', set: {}, unset: [], ...expiry, serialized: undefined }
      return { kind: 'update', set: diff.set, unset: diff.unset, ...expiry, serialized: diff.current }
    }
    case 'touch':
      return { kind: 'touch', expiresAt: next }
    default:
      return undefined
  }
}

function writeFacts(state: RequestState, diff: SessionDiff | undefined, next: number, confirm: boolean): WriteFacts {
  const policy = state.engine.policy
  return {
    phase: state.phase,
    session: useOf(state.session),
    changed: diff !== undefined && diff.changed,
    metaDirty: state.metaDirty,
    ownerChanged: state.userId !== state.record?.userId,
    signedIn: Boolean(state.userId),
    saveUninitialized: policy.saveUninitialized,
    headersSentWithoutCookie: state.res.headersSent && !state.cookieSent,
    touchRequested: state.touchRequested,
    slideDue: state.phase === 'stored' && isSlideDue(state.expiresAt, next, policy.touchAfter),
    expiryMoved: state.expiryMoved,
    confirm,
  }
}

/**
 * Whether an update may leave the stored expiry as it is: the store can (`kKeepsExpiry`), the slide
 * to `next` is not due yet (the `touchAfter` throttle reads apply too), the session did not ask for
 * one (`touch()`), and neither its metadata nor its lifetime changed, so `next` is no earlier than the
 * expiry the request knows.
 */
function keepsExpiry(state: RequestState, facts: WriteFacts, next: number): boolean {
  return state.engine.store[kKeepsExpiry] === true && !facts.metaDirty && !facts.touchRequested && !facts.slideDue && next >= state.expiresAt
}

function refreshFacts(state: RequestState): RefreshFacts {
  const presented = state.presented
  return {
    readOnly: state.readOnly,
    presentedSession: presented !== undefined && presented.id === state.id,
    reissue: presented !== undefined && presented.reissue,
    rolling: state.engine.policy.rolling,
    expiryMoved: state.expiryMoved,
  }
}

/** At header time: set the session's cookie, clear it, or neither. */
export function cookieAction(state: RequestState): CookieAction {
  if (state.response === 'failed' || state.phase === 'gone') return 'none'
  // resolved before anything is decided, as every cookie needs them: a cookie function that throws fails the response here
  cookieAttributesOf(state)
  return shouldSetCookie(cookieFacts(state), DEFERRED, state)
}

function cookieFacts(state: RequestState): CookieFacts {
  const presented = state.presented
  return {
    ...endFacts(state),
    clientCookie: state.clientCookie,
    replaced: state.replacedKey !== undefined,
    isNew: presented === undefined || state.id !== presented.id,
    ended: state.response === 'ended',
    expiryMoved: state.expiryMoved,
  }
}

/** The handler turned the cookie from persistent to browser-session or back: the browser's copy must be replaced. */
function kindChanged(state: RequestState): boolean {
  const session = state.session
  if (!session || state.readOnly || state.engine.policy.header !== undefined) return false
  syncCookieLifetime(state, session)
  const loaded = state.record?.meta?.cookieMaxAge
  const attrs = cookieAttributesOf(state)
  return ((loaded !== undefined ? loaded : attrs.maxAge) !== null) !== (cookieMaxAge(state, attrs) !== null)
}

function willCreate(state: RequestState): boolean {
  if (state.readOnly) return false
  if (state.engine.policy.saveUninitialized || state.userId) return true
  const session = state.session
  return session ? hasChanges(session, state.baseline) : false
}
