import { createSessionMiddleware, readOnly, type SessionHandler } from './middleware.ts'
import type { SessionOptions } from './options.ts'
import type { ManagedSession, SessionData } from './managed-session.ts'
import type { SessionStore } from './stores/contract.ts'
import { MemoryStore } from './stores/memory.ts'
import { fromCallbackStore, toCallbackStore } from './stores/legacy.ts'
import { migrateStore } from './stores/migrating.ts'
import { Store } from './compat/store.ts'
import {
  InvalidOptionError,
  InvalidSessionStateError,
  SessionGoneError,
  SessionTooLargeError,
  StoreReplicationError,
  StoreTimeoutError,
  StoreUnavailableError,
  TesseraError,
  SessionDataError,
} from './errors.ts'

/**
 * Creates the session middleware.
 *
 * @example
 * import session from 'tessera-session'
 * app.use(session({ secret: process.env.SESSION_SECRET }))
 */
function session(options: SessionOptions): SessionHandler {
  return createSessionMiddleware(options)
}
session.MemoryStore = MemoryStore
// factory-style third-party stores take the module: require('connect-pg-simple')(session)
session.Store = Store
session.readOnly = readOnly
session.toCallbackStore = toCallbackStore
session.fromCallbackStore = fromCallbackStore
session.migrateStore = migrateStore
session.TesseraError = TesseraError
session.InvalidOptionError = InvalidOptionError
session.StoreUnavailableError = StoreUnavailableError
session.StoreTimeoutError = StoreTimeoutError
session.SessionTooLargeError = SessionTooLargeError
session.SessionGoneError = SessionGoneError
session.InvalidSessionStateError = InvalidSessionStateError
session.SessionDataError = SessionDataError
session.StoreReplicationError = StoreReplicationError

export default session
export {
  session,
  MemoryStore,
  Store,
  readOnly,
  toCallbackStore,
  fromCallbackStore,
  migrateStore,
  TesseraError,
  InvalidOptionError,
  StoreUnavailableError,
  StoreTimeoutError,
  SessionTooLargeError,
  SessionGoneError,
  InvalidSessionStateError,
  SessionDataError,
  StoreReplicationError,
}
export { TesseraErrorCodes, type TesseraErrorCode } from './errors.ts'
export type { SessionOptions, SessionHandler, SessionData }
export type { ManagedSession as Session } from './managed-session.ts'
export type { LoginOptions } from './engine/context.ts'
export type { CookieOptions } from './cookie.ts'
export type { SessionEvents, SessionEventName, RejectReason, Diagnostic, DiagnosticCode, DiagnosticDetails } from './events.ts'
export type { MemoryStoreOptions } from './stores/memory.ts'
export type { CallbackStoreOptions, CallbackStore } from './stores/legacy.ts'
export type { MigrateStoreOptions } from './stores/migrating.ts'
export type {
  SessionStore,
  StoredSession,
  NewSession,
  SessionPatch,
  SessionMeta,
  SessionValues,
  GetOptions,
  UpdateOptions,
  CreateResult,
  UpdateResult,
  TouchResult,
  UserSessionInfo,
} from './stores/contract.ts'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The session (created on first access). `null` after `destroy()` or `req.session = null`. */
      session: ManagedSession & Partial<SessionData>
      /** The session id (accessing it creates the session, like `req.session`). */
      sessionID: string
      /** The store of the session middleware that handled this request. */
      sessionStore: SessionStore
    }
  }
}
