import { createSessionMiddleware, readOnly, type SessionHandler } from './middleware.ts'
import type { SessionOptions } from './options.ts'
import { MemoryStore } from './stores/memory.ts'
import { fromCallbackStore, toCallbackStore } from './stores/legacy.ts'
import { migrateStore } from './stores/migrating.ts'
import { Store } from './express-store.ts'
import {
  InvalidOptionError,
  InvalidSessionStateError,
  SessionGoneError,
  SessionTooLargeError,
  StoreTimeoutError,
  StoreUnavailableError,
  TesseraError,
  SessionDataError,
  StoreReplicationError,
} from './errors.ts'

/**
 * Creates the session middleware. The main entry's default export, and what `require('tessera-session')`
 * returns: it carries the entry's classes and helpers as properties, as express-session's factory does.
 *
 * @example
 * import session from 'tessera-session'
 * app.use(session({ secret: process.env.SESSION_SECRET }))
 */
export function session(options: SessionOptions): SessionHandler {
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
