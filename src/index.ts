export { session as default, session } from './session-factory.ts'
export { readOnly } from './middleware.ts'
export { MemoryStore } from './stores/memory.ts'
export { Store } from './express-store.ts'
export { toCallbackStore, fromCallbackStore } from './stores/legacy.ts'
export { migrateStore } from './stores/migrating.ts'
export {
  TesseraError,
  InvalidOptionError,
  StoreUnavailableError,
  StoreTimeoutError,
  SessionTooLargeError,
  SessionGoneError,
  InvalidSessionStateError,
  SessionDataError,
  StoreReplicationError,
  RevocationCheckError,
  OptionCallbackError,
  TesseraErrorCodes,
  type TesseraErrorCode,
} from './errors.ts'
export type { SessionOptions } from './options.ts'
export type { SessionHandler } from './middleware.ts'
export type { ManagedSession as Session, SessionData, LoginOptions } from './session.ts'
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
