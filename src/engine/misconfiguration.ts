import type { IncomingMessage, ServerResponse } from 'node:http'
import { firstCookieValue } from '../cookie-header.ts'
import { diagnose, isReported } from '../diagnostics.ts'
import type { DiagnosticDetails } from '../events.ts'
import type { CookieAttributes } from '../cookie-options.ts'
import { allowsCredentials, isResponseSent } from './response-hooks.ts'
import type { Engine } from './engine.ts'
import { relationOf } from './site.ts'

/**
 * The classic reasons a session does not stick, caught on the request where they happen and
 * reported through `diagnose`: a Secure cookie over plain HTTP, a cross-origin client that never
 * sends the cookie back, a write after the response was sent.
 */

type CrossSite = DiagnosticDetails['TESSERA_CROSS_SITE_NO_COOKIE']
type ForwardedProto = DiagnosticDetails['TESSERA_SECURE_OVER_HTTP']['forwardedProto']

/** Per middleware, the origins already given a new session by a request without the cookie (development only). */
const originsGivenSessions = new WeakMap<Engine, Set<string>>()
/** Enough for the front ends of one app under development; past it nothing more is remembered. */
const MAX_ORIGINS = 100

/** After our session cookie was set on `res`: will the browser keep it, and send it back? */
export function checkSessionCookie(engine: Engine, req: IncomingMessage, res: ServerResponse, cookie: { attrs: CookieAttributes; secure: boolean }): void {
  if (cookie.secure && isReported(engine, 'TESSERA_SECURE_OVER_HTTP') && !engine.isSecure(req)) {
    diagnose(engine, 'TESSERA_SECURE_OVER_HTTP', { forwardedProto: forwardedProtoOf(req), proxy: engine.policy.proxy })
  }
  if (isReported(engine, 'TESSERA_CROSS_SITE_NO_COOKIE')) checkCrossOrigin(engine, req, res, cookie.attrs)
}

/** `save()`, `regenerate()` or `login()` was called: is it too late? */
export function checkWriteAfterResponse(engine: Engine, res: ServerResponse, operation: 'save' | 'regenerate' | 'login'): void {
  if (isResponseSent(res) && isReported(engine, 'TESSERA_WRITE_AFTER_RESPONSE')) diagnose(engine, 'TESSERA_WRITE_AFTER_RESPONSE', { operation })
}

function checkCrossOrigin(engine: Engine, req: IncomingMessage, res: ServerResponse, attrs: CookieAttributes): void {
  const header = req.headers.cookie
  if (header !== undefined && firstCookieValue(header, engine.policy.name) !== undefined) return
  const from = relationOf({
    origin: req.headers.origin,
    secFetchSite: single(req.headers['sec-fetch-site']),
    hosts: [req.headers.host, firstValue(req.headers['x-forwarded-host'])].filter((host) => host !== undefined),
  })
  if (from === undefined) return
  const sameSite: CrossSite['sameSite'] = attrs.sameSite === 'auto' ? (engine.isSecure(req) ? 'none' : 'lax') : attrs.sameSite || 'unset'
  const mode = single(req.headers['sec-fetch-mode'])
  let reason: CrossSite['reason'] | undefined
  // a top-level navigation (a form POST from an OAuth provider) is not a CORS request: only SameSite decides
  if (from.relation === 'cross-site' && sameSite !== 'none') reason = 'same_site'
  else if ((mode === undefined || mode === 'cors') && !allowsCredentials(res)) reason = 'cors_credentials'
  // the first request of a client never has the cookie: only a second one from the same origin tells.
  // Production has many clients per origin, so this guess is made in development only
  else if (!engine.policy.production && seenBefore(engine, from.origin)) reason = 'not_returned'
  if (reason !== undefined) diagnose(engine, 'TESSERA_CROSS_SITE_NO_COOKIE', { origin: from.origin, reason, sameSite })
}

function seenBefore(engine: Engine, origin: string): boolean {
  let origins = originsGivenSessions.get(engine)
  if (origins === undefined) originsGivenSessions.set(engine, (origins = new Set()))
  if (origins.has(origin)) return true
  if (origins.size < MAX_ORIGINS) origins.add(origin)
  return false
}

function forwardedProtoOf(req: IncomingMessage): ForwardedProto {
  const value = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase()
  if (value === undefined) return undefined
  return value === 'https' || value === 'http' ? value : 'other'
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** The first of a comma-separated list (the hop nearest the client), trimmed; undefined when empty. */
function firstValue(value: string | string[] | undefined): string | undefined {
  const first = single(value)?.split(',')[0]?.trim()
  return first === '' ? undefined : first
}
