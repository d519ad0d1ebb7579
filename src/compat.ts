import { Cookie } from './cookie.ts'
import { Session, Store } from './express-store.ts'
import { MemoryStore } from './compat/memory-store.ts'
import { compatSession, type CompatSessionOptions, type SessionMiddleware } from './compat/middleware.ts'

/**
 * express-session 1.19, as a drop-in: `require('tessera-session/compat')` is the middleware factory
 * with `.Store`, `.Cookie`, `.Session` and `.MemoryStore`, like `require('express-session')`.
 *
 * @example
 * const session = require('tessera-session/compat')
 * app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: true }))
 */
function session(options?: CompatSessionOptions): SessionMiddleware {
  return compatSession(options)
}
session.Store = Store
session.Cookie = Cookie
session.Session = Session
session.MemoryStore = MemoryStore

export default session
export { session, Store, Cookie, Session, MemoryStore }
export type { CompatSessionOptions as SessionOptions, SessionMiddleware }
export type { CookieOptions } from './cookie.ts'
export type { StoredSessionData } from './express-store.ts'
