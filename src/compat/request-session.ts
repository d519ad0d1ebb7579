import { debug } from '../debug.ts'
import type { CompatRequest, Session, Store } from '../express-store.ts'
import { snapshot } from './decide.ts'
import type { CompatState } from './state.ts'

/**
 * `req.session` of the compat entry: generated, or inflated from the stored data, with `save` and
 * `reload` wrapped as express-session wraps them, so that a save is remembered (`isSaved`) and a
 * reload's new session is wrapped in turn.
 */

type Callback = (err?: unknown) => void

const kState = Symbol('tessera-session.compat-request')

/** A request of the compat entry: the wrappers reach its state through the session's `req`, as express-session's methods reach the store. */
interface StatefulRequest extends CompatRequest {
  [kState]?: CompatState
}

export function generate(state: CompatState): void {
  const req = state.req
  state.settings.store.generate(req)
  state.originalId = req.sessionID
  state.originalHash = snapshot(req.session as Session)
  wrapMethods(state, req.session as Session)
}

export function inflate(state: CompatState, data: Parameters<Store['createSession']>[1]): void {
  const req = state.req
  state.settings.store.createSession(req, data)
  state.originalId = req.sessionID
  // compat: the original state is the data as the store gave it, before the Session dropped
  // reserved keys, so a stored `save: 'nope'` makes the session count as modified
  state.originalHash = snapshot(data)
  if (!state.settings.resave) state.savedHash = state.originalHash
  wrapMethods(state, req.session as Session)
}

/**
 * The wrappers are defined once, at module level, and what they call is kept in the request's state,
 * reached through the session's `req`: closures per request (express-session's) or a map from session
 * to request cost a quarter to a third of the compat entry's time per request (measured).
 */
function wrapMethods(state: CompatState, sess: Session): void {
  ;(state.req as StatefulRequest)[kState] = state
  // a session wrapped before keeps the methods it had then: its wrappers must not call themselves
  if (sess.reload !== reloadSession) state.unwrappedReload = sess.reload
  if (sess.save !== saveSession) state.unwrappedSave = sess.save
  // compat: the wrappers return nothing, as express-session's do
  Object.defineProperty(sess, 'reload', { configurable: true, enumerable: false, writable: true, value: reloadSession })
  Object.defineProperty(sess, 'save', { configurable: true, enumerable: false, writable: true, value: saveSession })
}

function stateOf(sess: Session): CompatState {
  return (sess.req as StatefulRequest)[kState] as CompatState
}

function reloadSession(this: Session, callback: Callback): void {
  debug('reloading')
  const state = stateOf(this)
  ;(state.unwrappedReload as Session['reload']).call(this, rewrapMethods(state, this, callback))
}

function saveSession(this: Session, ...args: unknown[]): void {
  debug('saving')
  const state = stateOf(this)
  state.savedHash = snapshot(this)
  ;(state.unwrappedSave as (...a: unknown[]) => unknown).apply(this, args)
}

/** The reload's callback, once the new session (if the store made one) is wrapped too. */
function rewrapMethods(state: CompatState, sess: Session, callback: Callback) {
  return function (this: unknown, ...args: unknown[]) {
    if (state.req.session !== sess) wrapMethods(state, state.req.session as Session)
    ;(callback as (...a: unknown[]) => void).apply(this, args)
  }
}
