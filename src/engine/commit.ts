import type { ServerResponse } from 'node:http'
import { SessionDataError } from '../errors.ts'
import type { CookieAttributes } from '../cookie-options.ts'
import { diffSession } from './dirty.ts'
import { checkSessionCookie } from './misconfiguration.ts'
import { carryOutNow, noteUnstorable, queueWrite, type WritePlan } from './persist.ts'
import type { CookieAction } from './decide.ts'
import { cookieAction, planEndWrite } from './plan.ts'
import { guardFirstWrite, type FirstWriteGuard } from './first-write-guard.ts'
import { appendSetCookie, holdEnd, onHeaders, type EndHook } from './response-hooks.ts'
import { clearingCookie, cookieSecure, sessionCookie, sessionHeaderValue } from './set-cookie.ts'
import type { IdHeader } from '../header-option.ts'
import { cookieAttributesOf, type RequestState } from './state.ts'

/**
 * The main entry's end of a request, and with the hooks it is built on (response-hooks.ts,
 * first-write-guard.ts) the only code that touches `res`:
 * at the end of the response decide (plan.ts) and write (persist.ts), at header time decide and set
 * the cookie (set-cookie.ts). A failure on the way fails the request closed: no Set-Cookie, no new
 * id, the error to Express (503 for store errors).
 */

/** What `res.end` carries out: a write plan, the writes queued behind a `save()` in flight, or a throw to report. */
type EndPlan = WritePlan | { readonly kind: 'queued'; readonly confirm: boolean } | { readonly kind: 'threw'; readonly error: unknown }

const END: EndHook<RequestState, EndPlan> = { writeFirst: true, decide: atEnd, run: runEnd, onError: failRequest }
const FIRST_WRITE: FirstWriteGuard<RequestState> = { check: refuseBeforeHeaders, fail: failRequest }

/** Hooks the response, once: a request gets hooks only when it has a session to commit. */
export function hookResponse(state: RequestState): void {
  if (state.response !== 'unhooked') return
  state.response = 'open'
  onHeaders(state.res, atHeaders, state)
  holdEnd(state.res, END, state)
  guardFirstWrite(state.res, FIRST_WRITE, state)
}

/** Fails the request closed; a store failure already raised its store_error event, data no store can hold raises malformed_data. */
function failRequest(err: unknown, state: RequestState): void {
  state.response = 'failed'
  if (err instanceof SessionDataError) noteUnstorable(state, err)
  state.next(err)
}

/**
 * The app starts its response with `write`, `writeHead` or `flushHeaders`: a write the end of the
 * response would refuse (data no store can hold, too large) fails the request now, while its
 * headers can still become an error response; from then on nothing is written or set.
 */
function refuseBeforeHeaders(state: RequestState): unknown {
  const session = state.session
  if (!session || state.response === 'failed' || state.phase === 'gone' || state.readOnly) return undefined
  try {
    diffSession(session, state.baseline, state.engine.policy.maxSessionBytes)
  } catch (err) {
    state.response = 'failed'
    return err
  }
  return undefined
}

/** What the end of the response must write, decided on `res.end`; undefined: nothing, the response ends at once. */
function atEnd(state: RequestState): EndPlan | undefined {
  // the headers wait for the store: a re-sent cookie can wait for the store to confirm its session
  const confirm = !state.res.headersSent
  let plan: EndPlan | undefined
  try {
    plan = state.writing === undefined ? planEndWrite(state, confirm) : { kind: 'queued', confirm }
  } catch (error) {
    // fail the request with it, rather than leave it hanging with res.end spent
    return { kind: 'threw', error }
  }
  if (plan === undefined) markEnded(state)
  return plan
}

function runEnd(plan: EndPlan, state: RequestState, done: (err?: unknown) => void): void {
  if (plan.kind === 'threw') {
    done(plan.error)
    return
  }
  let written: Promise<void> | undefined
  try {
    written = plan.kind === 'queued' ? queueWrite(state, planEndWrite, plan.confirm) : carryOutNow(state, plan)
  } catch (err) {
    done(err)
    return
  }
  if (written === undefined) {
    // the store wrote in the same turn
    markEnded(state)
    done()
    return
  }
  written.then(() => {
    markEnded(state)
    done()
  }, done)
}

function markEnded(state: RequestState): void {
  if (state.response === 'open') state.response = 'ended'
}

/**
 * The header-time decision runs inside `writeHead`, where a throw would reach whoever wrote the
 * response (a timer, a stream: an uncaught exception). Whatever it meets fails the session instead:
 * no more writes, and the error to Express once the headers are out.
 */
function atHeaders(state: RequestState): void {
  try {
    const action = cookieAction(state)
    const header = state.engine.policy.header
    if (header !== undefined) sendIdHeader(state, header, action)
    else if (action === 'set') setSessionCookie(state, cookieAttributesOf(state))
    else if (action === 'clear') clearCookie(state, cookieAttributesOf(state))
  } catch (err) {
    state.response = 'failed'
    setImmediate(failRequest, err, state)
  }
}

function setSessionCookie(state: RequestState, attrs: CookieAttributes): void {
  const engine = state.engine
  appendCookie(state, sessionCookie, attrs)
  state.cookieSent = true
  const secure = cookieSecure(state, attrs)
  checkSessionCookie(engine, state.req, state.res, { attrs, secure })
  if (secure && !engine.isSecure(state.req)) {
    const id = state.id as string
    engine.emit('insecure_transport', () => ({ idHash: engine.idHash(id) }))
  }
}

/**
 * Header mode: the id in the response's header when the cookie would be set, the header present and
 * empty when it would be cleared (as Spring Session's header resolver answers an ended session).
 * Whatever the action, the response depends on the request's header: `Vary` says so to caches.
 */
function sendIdHeader(state: RequestState, header: IdHeader, action: CookieAction): void {
  const res = state.res
  addVary(res, header)
  if (action === 'none') return
  res.setHeader(header.name, action === 'set' ? sessionHeaderValue(state) : '')
  if (action === 'set') state.cookieSent = true
  else clearSiteDataOnDestroy(state)
  // R19: a response that carries a session id must not be cached and replayed to others
  if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store')
}

/** Appends the id's header to `Vary` (RFC 9110 §12.5.5), unless it is listed already or `Vary` is `*`. */
function addVary(res: ServerResponse, header: IdHeader): void {
  const current = res.getHeader('Vary')
  if (current === undefined || current === '') {
    res.setHeader('Vary', header.name)
    return
  }
  const list = Array.isArray(current) ? current.join(', ') : String(current)
  const fields = list.split(',').map((field) => field.trim().toLowerCase())
  if (fields.includes('*') || fields.includes(header.field)) return
  res.setHeader('Vary', `${list}, ${header.name}`)
}

/** The clearing Set-Cookie after a destroy or a rotation away (R13), with `Clear-Site-Data` when configured (R19). */
function clearCookie(state: RequestState, attrs: CookieAttributes): void {
  appendCookie(state, clearingCookie, attrs)
  clearSiteDataOnDestroy(state)
}

function clearSiteDataOnDestroy(state: RequestState): void {
  const res = state.res
  const clearSiteData = state.engine.policy.clearSiteData
  if (clearSiteData !== undefined && state.phase === 'destroyed' && !res.hasHeader('Clear-Site-Data')) res.setHeader('Clear-Site-Data', clearSiteData)
}

function appendCookie(state: RequestState, cookie: (state: RequestState, attrs: CookieAttributes) => string, attrs: CookieAttributes): void {
  const res = state.res
  try {
    appendSetCookie(res, cookie(state, attrs))
  } catch (err) {
    // what serializing refuses goes to Express, never out of writeHead
    setImmediate(state.next, err)
    return
  }
  // R19: a response that carries a session cookie must not be cached and replayed to others
  if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store')
}
