import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { inherits } from 'node:util'
import { Cookie } from './cookie.ts'

/**
 * express-session's store protocol, which both entries speak: the Store base that third-party stores
 * inherit (the main entry exports it for `require('connect-pg-simple')(session)`), the Session its
 * `createSession` builds, and the request fields both read. One file, because each of the three
 * refers to the others.
 */

type Callback = (err?: unknown) => void

/** The request fields express-session reads and writes. */
export interface CompatRequest extends IncomingMessage {
  session?: Session | null
  sessionID: string
  sessionStore: Store
  secret?: string
  secure?: boolean
  originalUrl?: string
  signedCookies?: Record<string, unknown>
  cookies?: Record<string, unknown>
}

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

/**
 * `req.session` as express-session builds it: `id` and `req` are non-enumerable, non-writable own
 * properties and the methods live on the prototype, so the own enumerable keys are exactly `cookie`
 * and the application's data, and `JSON.stringify(req.session)` is the stored form.
 */
export class Session {
  declare readonly id: string
  declare readonly req: CompatRequest
  declare cookie: Cookie;
  [key: string]: unknown

  constructor(req: CompatRequest, data?: object | null) {
    Object.defineProperty(this, 'req', { value: req })
    Object.defineProperty(this, 'id', { value: req.sessionID })
    if (typeof data === 'object' && data !== null) {
      // compat: a stored key that is already `in` the session (a method, `id`, an Object.prototype
      // name such as `constructor` or `__proto__`) is dropped
      for (const prop in data) {
        if (!(prop in this)) this[prop] = (data as Record<string, unknown>)[prop]
      }
    }
  }

  /** Alias of `resetMaxAge()`. */
  touch(): this {
    return this.resetMaxAge()
  }

  /** Restarts the cookie's lifetime: `cookie.maxAge = cookie.originalMaxAge`. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge
    return this
  }

  /** Writes the whole session to the store. */
  save(fn?: Callback): this {
    this.req.sessionStore.set(this.id, this, fn || noop)
    return this
  }

  /** Replaces `req.session` with the stored copy. The callback is required, as in express-session. */
  reload(fn: Callback): this {
    const req = this.req
    const store = req.sessionStore
    store.get(this.id, (err, sess) => {
      if (err) return fn(err)
      if (!sess) return fn(new Error('failed to load session'))
      store.createSession(req, sess)
      fn()
    })
    return this
  }

  /** Removes `req.session` and deletes the stored session. */
  destroy(fn?: Callback): this {
    delete (this.req as { session?: unknown }).session
    this.req.sessionStore.destroy(this.id, fn)
    return this
  }

  /** Destroys the session and generates a new one with a new id. The callback is required. */
  regenerate(fn: Callback): this {
    this.req.sessionStore.regenerate(this.req, fn)
    return this
  }
}

function noop(): void {}
