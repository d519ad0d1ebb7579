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
  /** A write found the session destroyed or changed by another request. */
  conflict: { idHash: string; result: 'gone' | 'conflict' }
  /** The store failed or timed out; the request failed closed. */
  store_error: { operation: string; error: Error }
  /** A Secure cookie was set on a request not known to be HTTPS (check `trust proxy`). */
  insecure_transport: { idHash: string }
  /** Stored data could not be read (treated as no session), or session data no store can hold was refused (nothing written). */
  malformed_data: { idHash: string; error: Error }
  /** The client binding (R26) did not match. */
  binding_mismatch: { idHash: string; action: 'log' | 'destroy' }
}

export type SessionEventName = keyof SessionEvents
