import { EventEmitter } from 'node:events'
import { inherits } from 'node:util'
import { Cookie } from '../cookie.ts'
import { Session } from '../session.ts'
import type { CompatRequest } from './request.ts'

type Callback = (err?: unknown) => void

/** A session as an express-session store holds it: the data plus the cookie's JSON form. */
export interface StoredSessionData {
  cookie: Record<string, unknown> & { expires?: string | Date | null; originalMaxAge?: number | null }
  [key: string]: unknown
}

/**
 * express-session's store interface. `get`, `set` and `destroy` are required; `touch` is
 * recommended; `all`, `length` and `clear` are optional. Stores are EventEmitters: `disconnect`
 * makes requests pass without a session until `connect`.
 */
export interface Store extends EventEmitter {
  get(sid: string, callback: (err: unknown, session?: StoredSessionData | null) => void): void
  set(sid: string, session: Session | StoredSessionData, callback?: Callback): void
  destroy(sid: string, callback?: Callback): void
  touch?(sid: string, session: Session | StoredSessionData, callback?: Callback): void
  all?(callback: (err: unknown, sessions?: Record<string, StoredSessionData> | StoredSessionData[] | null) => void): void
  length?(callback: (err: unknown, length?: number) => void): void
  clear?(callback?: Callback): void
  /** Installed by the middleware: makes a new session on `req`. */
  generate(req: CompatRequest): void
  regenerate(req: CompatRequest, fn: Callback): void
  load(sid: string, fn: (err?: unknown, session?: Session) => void): void
  createSession(req: CompatRequest, session: StoredSessionData): Session
}

/**
 * Any express-session store, as the options accept it: the three required methods, and the
 * EventEmitter `on` that the compat entry calls as express-session does. Written structurally so that stores typed
 * against @types/express-session (connect-redis, connect-pg-simple, …) are accepted.
 */
export interface ExpressSessionStore {
  get(sid: string, callback: (err: unknown, session?: StoredSessionData | null) => unknown): unknown
  set(sid: string, session: StoredSessionData, callback?: (err?: unknown) => unknown): unknown
  destroy(sid: string, callback?: (err?: unknown) => unknown): unknown
  touch?(sid: string, session: StoredSessionData, callback?: (err?: unknown) => unknown): unknown
  /** express-session listens for `disconnect`/`connect`; optional here because some store typings omit it. */
  on?(event: string, listener: (...args: unknown[]) => void): unknown
}

export interface StoreConstructor {
  new (): Store
  (this: Store): void
  prototype: Store
}

/**
 * The base of express-session stores. A plain function constructor, because stores written for
 * express-session call `Store.call(this)` and inherit with `util.inherits`; `class X extends Store` works too.
 */
export const Store = function Store(this: Store) {
  EventEmitter.call(this)
} as unknown as StoreConstructor

inherits(Store, EventEmitter)

Store.prototype.regenerate = function regenerate(this: Store, req: CompatRequest, fn: Callback) {
  // compat: the new session is generated even when destroy failed; the error goes to the callback
  this.destroy(req.sessionID, (err) => {
    this.generate(req)
    fn(err)
  })
}

Store.prototype.load = function load(this: Store, sid: string, fn: (err?: unknown, session?: Session) => void) {
  this.get(sid, (err, sess) => {
    if (err) return fn(err)
    if (!sess) return fn()
    const req = { sessionID: sid, sessionStore: this } as CompatRequest
    fn(null, this.createSession(req, sess))
  })
}

Store.prototype.createSession = function createSession(this: Store, req: CompatRequest, sess: StoredSessionData) {
  const expires = sess.cookie.expires
  const originalMaxAge = sess.cookie.originalMaxAge
  const cookie = new Cookie(sess.cookie as ConstructorParameters<typeof Cookie>[0])
  ;(sess as { cookie: unknown }).cookie = cookie
  if (typeof expires === 'string') cookie.expires = new Date(expires)
  // keep originalMaxAge intact: the expires setter above recomputed it
  cookie.originalMaxAge = originalMaxAge
  req.session = new Session(req, sess)
  return req.session
}
