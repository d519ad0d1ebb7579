import { debug } from '../debug.ts'
import type { Session, Store } from '../express-store.ts'
import { snapshot } from './decide.ts'
import type { CompatState } from './state.ts'

/**
 * `req.session` of the compat entry: generated, or inflated from the stored data, with `save` and
 * `reload` wrapped as express-session wraps them, so that a save is remembered (`isSaved`) and a
 * reload's new session is wrapped in turn.
 */

type Callback = (err?: unknown) => void

/** A wrapped session's request, and the methods its wrappers call. */
interface Wrapped {
  readonly state: CompatState
  readonly reload: Session['reload']
  readonly save: Session['save']
}

/** The wrappers are defined once; each session finds its request here. */
const wrapped = new WeakMap<Session, Wrapped>()

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

function wrapMethods(state: CompatState, sess: Session): void {
  // a session wrapped before keeps the methods it had then: its wrappers must not call themselves
  const before = wrapped.get(sess)
  wrapped.set(sess, { state, reload: before?.reload ?? sess.reload, save: before?.save ?? sess.save })
  // compat: the wrappers return nothing, as express-session's do
  Object.defineProperty(sess, 'reload', { configurable: true, enumerable: false, writable: true, value: reloadSession })
  Object.defineProperty(sess, 'save', { configurable: true, enumerable: false, writable: true, value: saveSession })
}

function reloadSession(this: Session, callback: Callback): void {
  debug('reloading')
  const { state, reload } = wrapped.get(this) as Wrapped
  reload.call(this, rewrapMethods(state, this, callback))
}

function saveSession(this: Session, ...args: unknown[]): void {
  debug('saving')
  const { state, save } = wrapped.get(this) as Wrapped
  state.savedHash = snapshot(this)
  ;(save as (...a: unknown[]) => unknown).apply(this, args)
}

/** The reload's callback, once the new session (if the store made one) is wrapped too. */
function rewrapMethods(state: CompatState, sess: Session, callback: Callback) {
  return function (this: unknown, ...args: unknown[]) {
    if (state.req.session !== sess) wrapMethods(state, state.req.session as Session)
    ;(callback as (...a: unknown[]) => void).apply(this, args)
  }
}
