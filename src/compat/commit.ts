import { serializeCookie } from '../cookie.ts'
import { debug } from '../debug.ts'
import { appendSetCookie, type EndHook } from '../engine/response-hooks.ts'
import type { Session } from '../express-store.ts'
import { isSecureRequest } from '../request-security.ts'
import { signLegacy, type Secret } from '../signing.ts'
import { shouldDestroy, shouldSave, shouldSetCookie, shouldTouch } from './decide.ts'
import type { CompatState } from './state.ts'

/** The end of a compat request, as express-session's `onHeaders` listener and its wrapped `res.end`. */

/** The store call the end of the response waits for. */
type CompatWork = 'destroy' | 'save' | 'touch'

export const COMPAT_END: EndHook<CompatState, CompatWork> = {
  writeFirst: false,
  decide: commitSession,
  run: runWork,
  onError: (err, state) => setImmediate(state.next, err),
}

/** At header time: express-session's Set-Cookie. */
export function setSessionCookie(state: CompatState): void {
  const req = state.req
  try {
    if (!req.session) {
      debug('no session')
      return
    }
    if (!shouldSetCookie(state)) return
    if (req.session.cookie.secure && !isSecureRequest(req, state.settings.trustProxy)) {
      debug('not secured')
      return
    }
    touchOnce(state, req.session)
    try {
      const signed = 's:' + signLegacy(req.sessionID, state.secrets[0] as Secret)
      appendSetCookie(state.res, serializeCookie(state.settings.name, signed, req.session.cookie.data))
    } catch (err) {
      setImmediate(state.next, err)
    }
  } catch (err) {
    // express-session throws a session JSON cannot hold (a cycle, a BigInt, too deep) out of whatever
    // wrote the headers, uncaught from a timer or a stream: here it goes to next() as a cookie error does
    state.unserializable = true
    setImmediate(state.next, err)
  }
}

function touchOnce(state: CompatState, sess: Session): void {
  if (state.touched) return
  sess.touch()
  state.touched = true
}

function commitSession(state: CompatState): CompatWork | undefined {
  const req = state.req
  if (shouldDestroy(state)) {
    debug('destroying')
    return 'destroy'
  }
  if (!req.session) {
    debug('no session')
    return undefined
  }
  if (state.unserializable) return undefined
  touchOnce(state, req.session)
  if (shouldSave(state)) return 'save'
  if (shouldTouch(state)) {
    debug('touching')
    return 'touch'
  }
  return undefined
}

/** Runs the store call; its error goes to next() (after the response), and the response ends either way. */
function runWork(work: CompatWork, state: CompatState, done: (err?: unknown) => void): void {
  const req = state.req
  const store = state.settings.store
  if (work === 'destroy') {
    store.destroy(req.sessionID, function ondestroy(err) {
      if (err) setImmediate(state.next, err)
      debug('destroyed')
      done()
    })
    return
  }
  const sess = req.session as Session
  if (work === 'save') {
    sess.save(function onsave(err) {
      if (err) setImmediate(state.next, err)
      done()
    })
    return
  }
  ;(store.touch as NonNullable<typeof store.touch>)(req.sessionID, sess, function ontouch(err) {
    if (err) setImmediate(state.next, err)
    debug('touched')
    done()
  })
}
