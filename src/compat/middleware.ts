import type { IncomingMessage, ServerResponse } from 'node:http'
import { debug } from '../debug.ts'
import { originalPathname } from '../engine/path.ts'
import { holdEnd, onHeaders } from '../engine/response-hooks.ts'
import type { CompatRequest, StoredSessionData } from '../express-store.ts'
import type { Secret } from '../signing.ts'
import { COMPAT_END, setSessionCookie } from './commit.ts'
import { getCookie } from './cookie-id.ts'
import { resolveCompatOptions, type CompatSessionOptions, type CompatSettings, type NextFunction, type SessionMiddleware } from './options.ts'
import { generate, inflate } from './request-session.ts'
import { CompatState } from './state.ts'

export type { CompatSessionOptions, NextFunction, SessionMiddleware }

/**
 * express-session 1.19, behaviour for behaviour (see the compat entry's documentation). Decisions
 * keep express-session's names (`shouldSave`, `shouldTouch`, `shouldSetCookie`, `shouldDestroy`).
 */
export function compatSession(options?: CompatSessionOptions): SessionMiddleware {
  const settings = resolveCompatOptions(options)
  settings.store.on('disconnect', function ondisconnect() {
    settings.storeReady = false
  })
  settings.store.on('connect', function onconnect() {
    settings.storeReady = true
  })

  return function session(request: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    const req = request as CompatRequest
    if (req.session) {
      next()
      return
    }
    if (!settings.storeReady) {
      debug('store is disconnected')
      next()
      return
    }
    const secrets = requestSecrets(settings, req, next)
    if (secrets === undefined) return
    req.sessionStore = settings.store
    req.sessionID = getCookie(req, settings.name, secrets, settings.verified) as string
    const state = new CompatState(settings, { req, res, next }, secrets)
    onHeaders(res, setSessionCookie, state)
    holdEnd(res, COMPAT_END, state)
    if (!req.sessionID) {
      debug('no SID sent, generating session')
      generate(state)
      next()
      return
    }
    debug('fetching session')
    settings.store.get(req.sessionID, (err, sess) => onLoad(state, err, sess))
  }
}

/**
 * The secrets for this request, or undefined when the request is not the middleware's (another
 * cookie path: `next()`) or has no secret (`next(err)`), as express-session decides.
 */
function requestSecrets(settings: CompatSettings, req: CompatRequest, next: NextFunction): Secret[] | undefined {
  const originalPath = originalPathname(req) || '/'
  const cookieOptions = settings.cookieOptions
  const resolvedCookieOptions = typeof cookieOptions === 'function' ? cookieOptions(req) : cookieOptions
  // compat: a plain prefix test, so path '/admin' also matches '/administrator'
  if (originalPath.indexOf(resolvedCookieOptions.path || '/') !== 0) {
    debug('pathname mismatch')
    next()
    return undefined
  }
  if (!settings.secrets && !req.secret) {
    next(new Error('secret option required for sessions'))
    return undefined
  }
  return settings.secrets || [req.secret as string]
}

function onLoad(state: CompatState, err: unknown, sess: StoredSessionData | null | undefined): void {
  const next = state.next
  if (err && (err as { code?: unknown }).code !== 'ENOENT') {
    debug('store error')
    next(err)
    return
  }
  try {
    if (err || !sess) {
      debug('no session found')
      generate(state)
    } else {
      debug('session found')
      inflate(state, sess)
    }
  } catch (e) {
    next(e)
    return
  }
  next()
}
