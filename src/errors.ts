/**
 * Every error this library throws or passes to `next()` is a `TesseraError` with a stable `code`.
 * Codes are never renamed or reused; the README lists them.
 */
export const TesseraErrorCodes = [
  'ERR_TESSERA_INVALID_OPTION',
  'ERR_TESSERA_STORE_UNAVAILABLE',
  'ERR_TESSERA_STORE_TIMEOUT',
  'ERR_TESSERA_SESSION_TOO_LARGE',
  'ERR_TESSERA_SESSION_GONE',
  'ERR_TESSERA_INVALID_SESSION_STATE',
  'ERR_TESSERA_SESSION_DATA',
  'ERR_TESSERA_STORE_REPLICATION',
  'ERR_TESSERA_REVOCATION_CHECK',
  'ERR_TESSERA_OPTION_CALLBACK',
] as const

/** The union of every error code. */
export type TesseraErrorCode = (typeof TesseraErrorCodes)[number]

/** Base class of every error raised by tessera-session. */
export abstract class TesseraError extends Error {
  abstract readonly code: TesseraErrorCode
  /** HTTP status Express's default error handler answers with. */
  readonly status: number = 500

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A configuration mistake, thrown when `session()` or a store is constructed. */
export class InvalidOptionError extends TesseraError {
  override readonly code = 'ERR_TESSERA_INVALID_OPTION'
  /** The option at fault, dotted (`cookie.path`). */
  readonly option: string
  /** For an unknown option, the known name it most likely meant (`saveUninitialized`), if one is close. */
  readonly suggestion: string | undefined

  constructor(option: string, message: string, details?: { suggestion?: string | undefined }) {
    super(`${option}: ${message}`)
    this.option = option
    this.suggestion = details?.suggestion
  }
}

/** The store failed (connection lost, command error). Requests fail closed with 503. */
export class StoreUnavailableError extends TesseraError {
  override readonly code = 'ERR_TESSERA_STORE_UNAVAILABLE'
  override readonly status = 503
}

/** The store did not answer within `storeTimeout`. Requests fail closed with 503. */
export class StoreTimeoutError extends TesseraError {
  override readonly code = 'ERR_TESSERA_STORE_TIMEOUT'
  override readonly status = 503
}

/** The serialized session exceeds `maxSessionBytes`; nothing was written. */
export class SessionTooLargeError extends TesseraError {
  override readonly code = 'ERR_TESSERA_SESSION_TOO_LARGE'
  override readonly status = 500
  readonly size: number
  readonly limit: number

  constructor(size: number, limit: number) {
    super(`session is ${size} bytes serialized, over the limit of ${limit} bytes`)
    this.size = size
    this.limit = limit
  }
}

/** `reload()` found no session in the store (destroyed or expired meanwhile). */
export class SessionGoneError extends TesseraError {
  override readonly code = 'ERR_TESSERA_SESSION_GONE'
  override readonly status = 500
}

/** A session method was called when it cannot act (after `destroy()`, after the response ended). */
export class InvalidSessionStateError extends TesseraError {
  override readonly code = 'ERR_TESSERA_INVALID_SESSION_STATE'
  override readonly status = 500
}

/**
 * Session data no store can hold or read: one request's or one record's data, never a failure of the
 * store (it does not count towards the circuit breaker). Written data JSON cannot hold, nested too
 * deeply, or under a key stores cannot hold is refused before any store call; the request fails with
 * this error and `malformed_data` is raised. A record a store cannot read (corrupt JSON, wrong shape)
 * makes the engine treat the session as missing and raise `malformed_data`; that one never reaches the application.
 */
export class SessionDataError extends TesseraError {
  override readonly code = 'ERR_TESSERA_SESSION_DATA'
  override readonly status = 500
}

/**
 * Fewer replicas than a store's `waitForReplicas` asks for acknowledged a destroy or revocation in time:
 * the session is gone from the primary, but a failover before the replicas catch up could bring it back.
 * Requests fail closed with 503; retrying the logout is safe.
 */
export class StoreReplicationError extends TesseraError {
  override readonly code = 'ERR_TESSERA_STORE_REPLICATION'
  override readonly status = 503
  /** Replicas that acknowledged. */
  readonly acknowledged: number
  /** Replicas asked for. */
  readonly required: number

  constructor(message: string, acknowledged: number, required: number) {
    super(message)
    this.acknowledged = acknowledged
    this.required = required
  }
}

/**
 * The app's `revokedBefore` function threw (its error is the `cause`) or answered something other
 * than an epoch ms number, a promise included: whether the session is revoked is unknown, so the
 * request fails closed. The session is neither used nor deleted; the next request asks again.
 */
export class RevocationCheckError extends TesseraError {
  override readonly code = 'ERR_TESSERA_REVOCATION_CHECK'
  override readonly status = 500
}

/**
 * A function the app gave as an option (`genid`, `cookie`, `readOnly`, `describeClient`) threw when
 * the library asked it (its error is the `cause`): the request, or the operation that asked, fails
 * with this error and the session is left as it was.
 */
export class OptionCallbackError extends TesseraError {
  override readonly code = 'ERR_TESSERA_OPTION_CALLBACK'
  override readonly status = 500
  /** The option whose function threw. */
  readonly option: string

  constructor(option: string, cause: unknown) {
    super(`the ${option} function threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.option = option
  }
}
