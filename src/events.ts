/** Why a presented cookie did not give a session (R9, R25). */
export type RejectReason = 'bad_mac' | 'malformed' | 'unknown' | 'duplicate' | 'prefix' | 'oversize'

/**
 * Event payloads. They carry `idHash`, a keyed hash of the session id that is stable for one
 * secret set, never the id or the cookie value (R25), so they are safe to log.
 */
export interface SessionEvents {
  /** A new session was written to the store. */
  created: { idHash: string }
  /** The id changed (regenerate, login, renewal); the old record was deleted. */
  rotated: { idHash: string; previousIdHash: string; reason: 'regenerate' | 'login' | 'renewal' | 'migration' }
  /** The session was destroyed (logout, unset, revocation). */
  destroyed: { idHash: string; reason: 'destroy' | 'unset' | 'expired' | 'revoked' | 'binding' }
  /** A presented session had passed its idle or absolute deadline. */
  expired: { idHash: string; kind: 'idle' | 'absolute' }
  /** A presented cookie gave no session. `idHash` is present once the id was verified. */
  rejected: { reason: RejectReason; idHash?: string }
  /** A write or a touch found the session destroyed or changed by another request. */
  conflict: { idHash: string; result: 'gone' | 'conflict' }
  /** The store failed or timed out; the request failed closed. */
  store_error: { operation: string; error: Error }
  /** A Secure cookie was set on a request not known to be HTTPS (check `trust proxy`). */
  insecure_transport: { idHash: string }
  /** Stored data could not be read (treated as no session), or session data no store can hold was refused (nothing written). */
  malformed_data: { idHash: string; error: Error }
  /** The client binding (R26) did not match. */
  binding_mismatch: { idHash: string; action: 'log' | 'destroy' }
  /** A misconfiguration seen on a request (a session that will not stick); see `DiagnosticCode`. */
  diagnostic: Diagnostic
}

/**
 * What each diagnostic carries besides its code and text. Never an id, a cookie value or a secret:
 * diagnostics are printed in development and are safe to log.
 */
export interface DiagnosticDetails {
  /** A `Secure` session cookie was set on a request not known to be HTTPS: browsers drop it. */
  TESSERA_SECURE_OVER_HTTP: {
    /** The request's first `X-Forwarded-Proto`, when it had one: `'https'` means a proxy Express does not trust. */
    forwardedProto: 'https' | 'http' | 'other' | undefined
    /** The `proxy` option. */
    proxy: boolean | undefined
  }
  /** A request from another origin came without the session cookie, and the response set a new one. */
  TESSERA_CROSS_SITE_NO_COOKIE: {
    /** The request's `Origin`, serialized by the URL parser (`'null'` for an opaque origin). */
    origin: string
    /**
     * Why the cookie will not come back: `same_site` (the cookie's SameSite keeps it from requests
     * from other sites), `cors_credentials` (the response lacks `Access-Control-Allow-Credentials: true`),
     * `not_returned` (development only: a cookie set for this origin before did not come back).
     */
    reason: 'same_site' | 'cors_credentials' | 'not_returned'
    /** The cookie's SameSite as sent (`unset`: no attribute, which browsers treat as Lax). */
    sameSite: 'lax' | 'strict' | 'none' | 'unset'
  }
  /** A session method that writes was called after the response was sent. */
  TESSERA_WRITE_AFTER_RESPONSE: { operation: 'save' | 'regenerate' | 'login' }
  /** A handler gave a session a cookie lifetime longer than `absoluteTimeout`, which ends it first. */
  TESSERA_MAXAGE_OVER_ABSOLUTE: { maxAge: number; absoluteTimeout: number }
}

/** The stable code of a diagnostic, also its `process.emitWarning` code. */
export type DiagnosticCode = keyof DiagnosticDetails

/** A diagnostic: its code, what is wrong, how to fix it, and its details. */
export type Diagnostic = { [C in DiagnosticCode]: { code: C; message: string; fix: string; details: DiagnosticDetails[C] } }[DiagnosticCode]

export type SessionEventName = keyof SessionEvents
