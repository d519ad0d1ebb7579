import { emitSafely } from './emit-safely.ts'
import type { EventEmitter } from 'node:events'
import type { Diagnostic, DiagnosticCode, DiagnosticDetails } from './events.ts'
import { formatDuration } from './format-duration.ts'

/**
 * Diagnostics: the misconfigurations that make a session silently not stick, explained when they
 * happen. Each one is a `diagnostic` event on the middleware (in every environment, when something
 * listens) and, in development when nothing listens, a process warning printed once per process
 * per code. The text never holds an id, a cookie value or a secret.
 */

type Text<C extends DiagnosticCode> = (details: DiagnosticDetails[C]) => { message: string; fix: string }

const TEXT: { readonly [C in DiagnosticCode]: Text<C> } = {
  TESSERA_SECURE_OVER_HTTP: ({ forwardedProto, proxy }) => ({
    message: 'a Secure session cookie was set on a request not known to be HTTPS: browsers drop it, so the session does not stick',
    fix:
      forwardedProto === 'https'
        ? proxy === false
          ? 'The request came through a proxy that speaks HTTPS (X-Forwarded-Proto: https), but the option `proxy: false` ignores that header: remove it and tell Express to trust the proxy, app.set(\'trust proxy\', 1).'
          : "The request came through a proxy that speaks HTTPS (X-Forwarded-Proto: https), but Express does not trust it: app.set('trust proxy', 1) for one proxy in front of the app, or the proxy's address ('loopback', a subnet)."
        : "The request is plain HTTP. Serve the app over HTTPS; behind a proxy that terminates TLS, have it send X-Forwarded-Proto and app.set('trust proxy', 1); in local development, cookie: { secure: 'auto' }. (Chrome and Firefox keep Secure cookies from http://localhost, Safari does not.)",
  }),
  TESSERA_CROSS_SITE_NO_COOKIE: ({ origin, reason, sameSite }) => {
    if (reason === 'same_site') {
      return {
        message: `a request from ${origin}, another site, came without the session cookie and got a new session: a SameSite=${sameSite === 'unset' ? 'Lax (the default)' : sameSite === 'strict' ? 'Strict' : 'Lax'} cookie is not sent on requests from other sites`,
        fix: "Serve the front end from the same site (app.example.com and api.example.com are one site), or set cookie: { sameSite: 'none', secure: true } and guard state-changing routes against CSRF. An OAuth form_post callback: keep Lax and finish the sign-in on a redirect to your own site. See docs/recipes.md.",
      }
    }
    if (reason === 'cors_credentials') {
      return {
        message: `a request from ${origin} came without the session cookie and got a new session, and the response does not allow credentials (no Access-Control-Allow-Credentials: true)`,
        fix: "A browser fails a request made with credentials unless the response has Access-Control-Allow-Origin set to that origin (not *) and Access-Control-Allow-Credentials: true (the cors package: cors({ origin, credentials: true })); and a request made without credentials neither sends nor keeps cookies: fetch(url, { credentials: 'include' }), or withCredentials: true.",
      }
    }
    return {
      message: `requests from ${origin} keep arriving without the session cookie set for them before: each one gets a new session`,
      fix: "Send the requests with credentials: fetch(url, { credentials: 'include' }), or withCredentials: true for XMLHttpRequest and axios; and check that the browser does not block the cookie as a third-party cookie.",
    }
  },
  TESSERA_WRITE_AFTER_RESPONSE: ({ operation }) => ({
    message: `req.session.${operation}() was called after the response was sent`,
    fix:
      operation === 'save'
        ? 'The response did not wait for the write: the next request may not see it, and a new session saved now never gets its cookie. Change the session before responding (it is saved before the response ends), or await req.session.save() before res.redirect().'
        : `The new session id's cookie can no longer be sent: the browser keeps the old one, which names a deleted session. Call await req.session.${operation}() before sending the response.`,
  }),
  TESSERA_MAXAGE_OVER_ABSOLUTE: ({ maxAge, absoluteTimeout }) => ({
    message: `a handler set req.session.cookie.maxAge to ${formatDuration(maxAge)}, longer than absoluteTimeout (${formatDuration(absoluteTimeout)}): the session and its cookie end at the absolute deadline first`,
    fix: 'Raise absoluteTimeout to the longest lifetime you give a session (session({ absoluteTimeout })), or shorten the maxAge. See the "remember me" recipe in docs/recipes.md.',
  }),
}

/** Every diagnostic code, in the order of the README's table. */
export const DIAGNOSTIC_CODES = Object.keys(TEXT) as DiagnosticCode[]

const printed = new Set<DiagnosticCode>()

/** What a diagnostic needs of the middleware it reports for (the engine is one): this module sits below the engine. */
export interface DiagnosticSource {
  readonly events: EventEmitter
  readonly policy: { readonly production: boolean }
}

/** Whether `diagnose(engine, code, …)` would do anything: callers skip the work of finding out otherwise. */
export function isReported(engine: DiagnosticSource, code: DiagnosticCode): boolean {
  return engine.events.listenerCount('diagnostic') > 0 || (!engine.policy.production && !printed.has(code))
}

/**
 * Reports a diagnostic: a `diagnostic` event when the app listens (then it decides where it goes),
 * otherwise, outside production, a process warning, once per process for each code.
 */
export function diagnose<C extends DiagnosticCode>(engine: DiagnosticSource, code: C, details: DiagnosticDetails[C]): void {
  if (!isReported(engine, code)) return
  const { message, fix } = (TEXT[code] as Text<C>)(details)
  if (engine.events.listenerCount('diagnostic') > 0) {
    emitSafely(engine.events, 'diagnostic', { code, message, fix, details } as Diagnostic)
    return
  }
  printed.add(code)
  process.emitWarning(message, { type: 'TesseraSessionWarning', code, detail: fix })
}
